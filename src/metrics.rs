//! Prometheus metrics: one struct owning its registry, labelled by tier, outcome or state,
//! never by raw path or id.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the service exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Redirect cache lookups by tier (`l1`, `l2`, `db`) and result (`hit`, `negative_hit`, `miss`, `error`, `skipped`).
    pub cache_lookups: IntCounterVec,
    /// Redis command latency.
    pub redis_command_seconds: Histogram,
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
    /// Clicks waiting in the queue or in the batch being written.
    pub click_queue_depth: IntGauge,
    /// Clicks per written batch.
    pub click_batch_size: Histogram,
    /// Time to write one batch (successful attempts).
    pub click_flush_seconds: Histogram,
    /// Failed batch writes (each is retried).
    pub click_flush_failures: IntCounter,
}

/// Buckets for fast operations, in seconds (0.1 ms to 2.5 s).
const FAST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

impl Metrics {
    /// Creates and registers every metric, plus the process collector (RSS, CPU, fds).
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let counter = |name: &str, help: &str| {
            let metric = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let gauge = |name: &str, help: &str| {
            let metric = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let metric = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
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
        let metrics = Self {
            cache_lookups,
            redirects,
            hot,
            redis_command_seconds: histogram(
                "shortener_redis_command_seconds",
                "Latency of Redis commands, including timeouts",
                FAST_BUCKETS.to_vec(),
            ),
            breaker_state: gauge(
                "shortener_cache_breaker_state",
                "Redis circuit breaker: 0 closed, 1 half-open, 2 open",
            ),
            breaker_transitions: counter_vec(
                "shortener_cache_breaker_transitions_total",
                "Redis circuit breaker transitions by the state entered",
                &["to"],
            ),
            cache_invalidations: counter_vec(
                "shortener_cache_invalidations_total",
                "Cache invalidations by how they were applied",
                &["kind"],
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
            click_queue_depth: gauge(
                "shortener_click_queue_depth",
                "Clicks accepted but not yet written",
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
            click_flush_failures: counter(
                "shortener_click_flush_failures_total",
                "Failed click batch writes (retried)",
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

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
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
    fn default() -> Self {
        Self::new()
    }
}
