//! Database metrics: the request pool (sampled at scrape), connection acquire wait,
//! the latency of named operations, and errors by kind.

use std::time::Duration;

use prometheus::{Histogram, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec};

use super::registrar::Registrar;

/// The connection pool's state at one moment, as the pool reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolSample {
    /// Connections open, in use or idle.
    pub size: u32,
    /// Connections open and idle.
    pub idle: usize,
    /// The pool's bound (`DB_MAX_CONNECTIONS`).
    pub max: u32,
}

/// The `kind` label values of `shortener_db_errors_total`; `db::DbFailure::label` names
/// its kinds with these, so every kind is registered at 0.
pub const DB_ERROR_KINDS: [&str; 6] = [
    "pool_timeout",
    "connection",
    "statement_timeout",
    "server_unavailable",
    "contention",
    "other",
];

const DB_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The pool, query and error metrics.
#[derive(Clone)]
pub struct DbMetrics {
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    acquire: Histogram,
    query: HistogramVec,
    errors: IntCounterVec,
}

impl DbMetrics {
    pub(super) fn new(r: &Registrar<'_>) -> Self {
        let errors = r.counter_vec(
            "shortener_db_errors_total",
            "Database errors that failed a request, by kind",
            &["kind"],
        );
        for kind in DB_ERROR_KINDS {
            errors.with_label_values(&[kind]);
        }
        Self {
            pool_connections: r.gauge_vec(
                "shortener_db_pool_connections",
                "Open connections of the request pool, by state (in_use, idle)",
                &["state"],
            ),
            pool_max: r.gauge(
                "shortener_db_pool_max_connections",
                "The request pool's maximum size",
            ),
            acquire: r.histogram(
                "shortener_db_pool_acquire_seconds",
                "Time waiting for a connection of the request pool",
                DB_BUCKETS.to_vec(),
            ),
            query: r.histogram_vec(
                "shortener_db_query_seconds",
                "Time of one database operation, connection acquire included",
                &["operation"],
                DB_BUCKETS.to_vec(),
            ),
            errors,
        }
    }

    /// Puts the pool's current size, idle count and bound into the gauges.
    pub fn sample_pool(&self, pool: PoolSample) {
        let size = i64::from(pool.size);
        let idle = i64::try_from(pool.idle).unwrap_or(i64::MAX);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_max.set(i64::from(pool.max));
    }

    /// Records how long a connection of the request pool took to come (or not).
    pub fn observe_acquire(&self, waited: Duration) {
        self.acquire.observe(waited.as_secs_f64());
    }

    /// The latency series of one named operation.
    pub fn operation(&self, operation: &str) -> Histogram {
        self.query.with_label_values(&[operation])
    }

    /// Counts an error that turned a request into a 5xx, by its kind (a [`DB_ERROR_KINDS`] value).
    pub fn count_error(&self, kind: &str) {
        self.errors.with_label_values(&[kind]).inc();
    }
}
