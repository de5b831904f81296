//! Tokio runtime metrics, read at each scrape, and the `shortener_build_info` gauge.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use prometheus::{Counter, IntCounter, IntGauge};

use super::registrar::Registrar;

/// The commit the binary was built from: `SHORTENER_GIT_COMMIT` at compile time.
pub const COMMIT: &str = match option_env!("SHORTENER_GIT_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// The dropped-lines counter of the process's log writer, once logging is set up.
static LOG_DROPS: OnceLock<Arc<AtomicU64>> = OnceLock::new();

/// Makes `shortener_log_lines_dropped_total` follow the log writer's own count (the first
/// writer installed wins; logging is set up once per process).
pub fn watch_dropped_log_lines(counter: Arc<AtomicU64>) {
    let _ = LOG_DROPS.set(counter);
}

/// Runtime gauges and the busy-time counter.
#[derive(Clone)]
pub struct RuntimeMetrics {
    workers: IntGauge,
    busy_seconds: Counter,
    alive_tasks: IntGauge,
    global_queue_depth: IntGauge,
    /// Log lines the writer thread fell too far behind to take (see `watch_dropped_log_lines`).
    log_lines_dropped: IntCounter,
    /// Workers' total busy time at the previous sample (the counter grows by the difference).
    busy_seen: Arc<Mutex<Duration>>,
}

impl RuntimeMetrics {
    pub(super) fn new(r: &Registrar<'_>, replica: &str) -> Self {
        r.gauge_vec(
            "shortener_build_info",
            "Always 1: the running version, commit and replica name",
            &["version", "commit", "replica"],
        )
        .with_label_values(&[env!("CARGO_PKG_VERSION"), COMMIT, replica])
        .set(1);
        Self {
            workers: r.gauge("shortener_tokio_workers", "Tokio worker threads"),
            busy_seconds: r.float_counter(
                "shortener_tokio_busy_seconds_total",
                "Time all Tokio workers spent busy (rate / workers = busy ratio)",
            ),
            alive_tasks: r.gauge("shortener_tokio_alive_tasks", "Tasks alive in the runtime"),
            global_queue_depth: r.gauge(
                "shortener_tokio_global_queue_depth",
                "Tasks waiting in the runtime's global queue",
            ),
            log_lines_dropped: r.counter(
                "shortener_log_lines_dropped_total",
                "Log lines dropped because the log writer fell behind (never blocks a request)",
            ),
            busy_seen: Arc::default(),
        }
    }

    /// Reads the current runtime's metrics (no-op outside a Tokio runtime).
    pub fn sample(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let runtime = handle.metrics();
        let workers = runtime.num_workers();
        let busy: Duration = (0..workers)
            .map(|worker| runtime.worker_total_busy_duration(worker))
            .sum();
        self.workers.set(i64::try_from(workers).unwrap_or(i64::MAX));
        self.alive_tasks
            .set(i64::try_from(runtime.num_alive_tasks()).unwrap_or(i64::MAX));
        self.global_queue_depth
            .set(i64::try_from(runtime.global_queue_depth()).unwrap_or(i64::MAX));
        let mut seen = self.busy_seen.lock().unwrap_or_else(|e| e.into_inner());
        if busy > *seen {
            self.busy_seconds.inc_by((busy - *seen).as_secs_f64());
            *seen = busy;
        }
        // Under the same lock, so two scrapes at once cannot count a drop twice.
        let dropped = LOG_DROPS
            .get()
            .map_or(0, |counter| counter.load(Ordering::Relaxed));
        let counted = self.log_lines_dropped.get();
        if dropped > counted {
            self.log_lines_dropped.inc_by(dropped - counted);
        }
    }
}
