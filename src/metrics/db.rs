//! Database metrics: the request pool (sampled at scrape), connection acquire wait,
//! the latency of named operations, and errors by kind.

use std::future::Future;
use std::time::Instant;

use prometheus::{Histogram, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec};
use sqlx::PgPool;
use sqlx::pool::PoolConnection;

use super::registrar::Registrar;
use crate::db::DbFailure;

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
        for failure in DbFailure::ALL {
            errors.with_label_values(&[failure.label()]);
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

    /// Reads the pool's current size and idle count into the gauges.
    pub fn sample_pool(&self, pool: &PgPool) {
        let size = i64::from(pool.size());
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
    }

    /// A connection from `pool`, with the wait recorded (failed waits too).
    pub async fn acquire(
        &self,
        pool: &PgPool,
    ) -> Result<PoolConnection<sqlx::Postgres>, sqlx::Error> {
        let started = Instant::now();
        let connection = pool.acquire().await;
        self.acquire.observe(started.elapsed().as_secs_f64());
        connection
    }

    /// Counts an error that turned a request into a 5xx.
    pub fn count_error(&self, failure: DbFailure) {
        self.errors.with_label_values(&[failure.label()]).inc();
    }

    fn observe_query(&self, operation: &str, started: Instant) {
        self.query
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Times a database operation: `urls::create(..).timed(&metrics.db, "urls.create").await`.
pub trait Timed: Future + Sized {
    /// Runs the operation, recording its duration under `operation`.
    fn timed(
        self,
        metrics: &DbMetrics,
        operation: &'static str,
    ) -> impl Future<Output = Self::Output> {
        async move {
            let started = Instant::now();
            let output = self.await;
            metrics.observe_query(operation, started);
            output
        }
    }
}

impl<F: Future> Timed for F {}
