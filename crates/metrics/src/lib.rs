//! Prometheus metrics: one struct owning its registry, labelled by route template, tier,
//! outcome or state, never by raw path or id. docs/observability.md is the catalogue.

mod db;
mod destinations;
mod http;
mod registrar;
mod runtime;
mod spill;
mod webhooks;

use std::sync::Arc;

use prometheus::{Encoder, Histogram, IntCounter, IntCounterVec, IntGauge, Registry, TextEncoder};

pub use db::{DB_ERROR_KINDS, DbMetrics, PoolSample};
pub use destinations::DestinationMetrics;
pub use http::HttpMetrics;
use registrar::Registrar;
pub use runtime::{RuntimeMetrics, watch_dropped_log_lines};
pub use spill::SpillMetrics;
pub use webhooks::{WEBHOOK_OUTCOMES, WebhookMetrics};

/// Every metric the service exports, behind one `Arc`: the state holding it is cloned
/// for every request, and one reference count is cheaper than dozens that every core
/// contends on.
#[derive(Clone)]
pub struct Metrics(Arc<MetricSet>);

impl std::ops::Deref for Metrics {
    type Target = MetricSet;

    fn deref(&self) -> &MetricSet {
        &self.0
    }
}

impl Metrics {
    /// Creates and registers every metric; `replica` names this process in
    /// `shortener_build_info`.
    pub fn new(replica: &str) -> Self {
        Self(Arc::new(MetricSet::new(replica)))
    }
}

/// The metrics themselves.
pub struct MetricSet {
    registry: Registry,
    /// Requests, latency and concurrency by route template.
    pub http: HttpMetrics,
    /// The request pool, query latency and database errors.
    pub db: DbMetrics,
    /// Tokio runtime and build information, sampled at each scrape.
    pub runtime: RuntimeMetrics,
    /// The on-disk click spill.
    pub spill: SpillMetrics,
    /// Webhook deliveries and the outbox.
    pub webhooks: WebhookMetrics,
    /// Destination checks and the links whose destination is down.
    pub destinations: DestinationMetrics,
    /// Links created, by source (`api`, `import`).
    pub links_created: IntCounterVec,
    /// Users created, by source (`api`, `import`).
    pub users_created: IntCounterVec,
    /// Redirect cache lookups by tier (`l1`, `l2`, `db`) and result (`hit`, `negative_hit`, `miss`, `stale`, `error`, `skipped`).
    pub cache_lookups: IntCounterVec,
    /// Redis command latency.
    pub redis_command_seconds: Histogram,
    /// Redis commands skipped because every pooled connection was busy for the whole
    /// wait (load, not a Redis failure: the breaker does not count them).
    pub redis_pool_exhausted: IntCounter,
    /// Redis circuit breaker state: 0 closed, 1 half-open, 2 open.
    pub breaker_state: IntGauge,
    /// Breaker transitions by the state entered.
    pub breaker_transitions: IntCounterVec,
    /// Cache invalidations by how they were applied (`l1`, `l2`, `l2_failed`, `generation_bump`).
    pub cache_invalidations: IntCounterVec,
    /// Redirects answered, by outcome (`found`, `not_found`, `gone`).
    pub redirects: IntCounterVec,
    /// The series every redirect touches, resolved once (no label lookup per request).
    pub hot: HotPathCounters,
    /// Clicks accepted into the queue.
    pub clicks_enqueued: IntCounter,
    /// Clicks dropped because the queue was full or closed.
    pub clicks_dropped: IntCounter,
    /// Clicks written to Postgres.
    pub clicks_written: IntCounter,
    /// Clicks the database refused for good (their link is gone, or a value it cannot store).
    pub clicks_rejected: IntCounter,
    /// Clicks waiting in the queue or in the batch being written.
    pub click_queue_depth: IntGauge,
    /// The click queue's capacity (`CLICK_QUEUE_CAPACITY`).
    pub click_queue_capacity: IntGauge,
    /// Clicks per written batch.
    pub click_batch_size: Histogram,
    /// Time to write one batch (successful attempts).
    pub click_flush_seconds: Histogram,
    /// Time to classify one batch, off the request path (once per batch, however many
    /// attempts its write takes).
    pub click_classify_seconds: Histogram,
    /// Failed batch writes (each is retried).
    pub click_flush_failures: IntCounter,
    /// For each stored click, the time from its redirect to its row's commit.
    pub click_lag_seconds: Histogram,
    /// Runs of the data upkeep (partitions, retention) by outcome (`done`, `skipped`, `failed`).
    pub upkeep_runs: IntCounterVec,
    /// Raw click events removed by retention (their rollups are kept).
    pub clicks_expired: IntCounter,
    /// Folds of pending click deltas into the rollups by outcome (`done`, `skipped`: another
    /// replica was folding, `failed`).
    pub click_folds: IntCounterVec,
    /// Clicks folded into the rollups.
    pub clicks_folded: IntCounter,
    /// When this replica last completed a fold, in Unix seconds (0: never).
    pub click_fold_last_success: IntGauge,
}

/// Outcomes of a data upkeep run: it ran, another replica held the upkeep lock, or it
/// failed (retried at the next run).
pub const UPKEEP_OUTCOMES: [&str; 3] = ["done", "skipped", "failed"];

/// Buckets for fast operations, in seconds (0.1 ms to 2.5 s).
const FAST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

impl MetricSet {
    /// Creates and registers every metric, plus the process collector (RSS, CPU, fds).
    fn new(replica: &str) -> Self {
        let registry = Registry::new();
        let r = Registrar::new(&registry);
        let counter_vec =
            |name: &str, help: &str, labels: &[&str]| r.counter_vec(name, help, labels);
        let counter = |name: &str, help: &str| r.counter(name, help);
        let gauge = |name: &str, help: &str| r.gauge(name, help);
        let histogram =
            |name: &str, help: &str, buckets: Vec<f64>| r.histogram(name, help, buckets);
        let cache_lookups = counter_vec(
            "shortener_cache_lookups_total",
            "Redirect cache lookups by tier and result",
            &["tier", "result"],
        );
        let redirects = counter_vec(
            "shortener_redirects_total",
            "Redirect requests by outcome",
            &["outcome"],
        );
        let hot = HotPathCounters {
            l1_hit: cache_lookups.with_label_values(&["l1", "hit"]),
            l1_negative_hit: cache_lookups.with_label_values(&["l1", "negative_hit"]),
            l1_miss: cache_lookups.with_label_values(&["l1", "miss"]),
            found: redirects.with_label_values(&["found"]),
            not_found: redirects.with_label_values(&["not_found"]),
            gone: redirects.with_label_values(&["gone"]),
        };
        for tier in ["l1", "l2", "db"] {
            for result in ["hit", "negative_hit", "miss", "stale", "error", "skipped"] {
                cache_lookups.with_label_values(&[tier, result]);
            }
        }
        let links_created = counter_vec(
            "shortener_links_created_total",
            "Links created, by source",
            &["source"],
        );
        let users_created = counter_vec(
            "shortener_users_created_total",
            "Users created, by source",
            &["source"],
        );
        for source in ["api", "import"] {
            links_created.with_label_values(&[source]);
            users_created.with_label_values(&[source]);
        }
        let upkeep_runs = counter_vec(
            "shortener_upkeep_runs_total",
            "Runs of the data upkeep (click partitions ahead, click retention), by outcome",
            &["outcome"],
        );
        let click_folds = counter_vec(
            "shortener_click_folds_total",
            "Folds of pending click deltas into the rollups, by outcome",
            &["outcome"],
        );
        for outcome in UPKEEP_OUTCOMES {
            upkeep_runs.with_label_values(&[outcome]);
            click_folds.with_label_values(&[outcome]);
        }
        let breaker_transitions = counter_vec(
            "shortener_cache_breaker_transitions_total",
            "Redis circuit breaker transitions by the state entered",
            &["to"],
        );
        for to in ["closed", "half_open", "open"] {
            breaker_transitions.with_label_values(&[to]);
        }
        let cache_invalidations = counter_vec(
            "shortener_cache_invalidations_total",
            "Cache invalidations by how they were applied",
            &["kind"],
        );
        for kind in ["l1", "l2", "l2_failed", "generation_bump"] {
            cache_invalidations.with_label_values(&[kind]);
        }
        let metrics = Self {
            http: HttpMetrics::new(&r),
            db: DbMetrics::new(&r),
            runtime: RuntimeMetrics::new(&r, replica),
            spill: SpillMetrics::new(&r),
            webhooks: WebhookMetrics::new(&r),
            destinations: DestinationMetrics::new(&r),
            links_created,
            users_created,
            breaker_transitions,
            cache_invalidations,
            cache_lookups,
            redirects,
            hot,
            redis_command_seconds: histogram(
                "shortener_redis_command_seconds",
                "Latency of Redis commands, including timeouts",
                FAST_BUCKETS.to_vec(),
            ),
            redis_pool_exhausted: counter(
                "shortener_redis_pool_exhausted_total",
                "Redis commands skipped because no pooled connection came free in time",
            ),
            breaker_state: gauge(
                "shortener_cache_breaker_state",
                "Redis circuit breaker: 0 closed, 1 half-open, 2 open",
            ),
            clicks_enqueued: counter(
                "shortener_clicks_enqueued_total",
                "Clicks accepted into the queue",
            ),
            clicks_dropped: counter(
                "shortener_clicks_dropped_total",
                "Clicks dropped because the queue was full or closed",
            ),
            clicks_written: counter(
                "shortener_clicks_written_total",
                "Clicks written to Postgres",
            ),
            clicks_rejected: counter(
                "shortener_clicks_rejected_total",
                "Clicks the database refused for good: their link no longer exists, or a value cannot be stored",
            ),
            click_queue_depth: gauge(
                "shortener_click_queue_depth",
                "Clicks accepted but not yet written",
            ),
            click_queue_capacity: gauge(
                "shortener_click_queue_capacity",
                "Clicks the queue holds before it drops",
            ),
            click_batch_size: histogram(
                "shortener_click_batch_size",
                "Clicks per written batch",
                vec![
                    1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
                ],
            ),
            click_flush_seconds: histogram(
                "shortener_click_flush_seconds",
                "Time to write one batch of clicks",
                FAST_BUCKETS.to_vec(),
            ),
            click_classify_seconds: histogram(
                "shortener_click_classify_seconds",
                "Time to classify one batch of clicks (class, browser, OS, device, language)",
                FAST_BUCKETS.to_vec(),
            ),
            click_flush_failures: counter(
                "shortener_click_flush_failures_total",
                "Failed click batch writes (retried)",
            ),
            click_lag_seconds: histogram(
                "shortener_click_lag_seconds",
                "Time from a redirect to the commit of its click event",
                vec![
                    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ],
            ),
            upkeep_runs,
            clicks_expired: counter(
                "shortener_clicks_expired_total",
                "Raw click events removed by CLICK_RETENTION_DAYS (rollups are kept)",
            ),
            click_folds,
            clicks_folded: counter(
                "shortener_clicks_folded_total",
                "Clicks whose pending deltas were folded into the rollups",
            ),
            click_fold_last_success: gauge(
                "shortener_click_fold_last_success_timestamp_seconds",
                "When this replica last completed a fold of click deltas (Unix seconds; 0: never)",
            ),
            registry,
        };
        #[cfg(target_os = "linux")]
        metrics
            .registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        metrics
    }

    /// The Prometheus text exposition of every metric, after sampling the gauges that
    /// are read rather than maintained (pool, runtime).
    pub fn render(&self, pool: PoolSample) -> String {
        self.db.sample_pool(pool);
        self.runtime.sample();
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// Pre-resolved children of `cache_lookups` and `redirects` for the redirect path.
#[derive(Clone)]
pub struct HotPathCounters {
    pub l1_hit: IntCounter,
    pub l1_negative_hit: IntCounter,
    pub l1_miss: IntCounter,
    pub found: IntCounter,
    pub not_found: IntCounter,
    pub gone: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    /// Metrics of an unnamed replica (tests).
    fn default() -> Self {
        Self::new("test")
    }
}
