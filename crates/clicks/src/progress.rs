//! How far the pipeline has got: clicks accepted, clicks held in memory (the bound is
//! `capacity`, however they are spread over the queue and the batches), clicks settled
//! (written, refused for good, or lost and counted), and the drops not yet reported. Batches settle
//! in the order their clicks were accepted (the spill keeps that order), so "settled
//! reached N" means every one of the first N accepted clicks has settled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How often dropped clicks are reported in the log.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Shared between the queue, the intake and the writer.
pub(crate) struct Progress {
    capacity: u64,
    /// Clicks in memory: in the queue, or in a batch not yet written or spilled.
    held: AtomicU64,
    accepted: AtomicU64,
    /// Clicks settled, and whether the pipeline has stopped.
    settled: watch::Sender<(u64, bool)>,
    drops_unreported: AtomicU64,
    last_drop_report: std::sync::Mutex<Instant>,
}

impl Progress {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity as u64,
            held: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            settled: watch::Sender::new((0, false)),
            drops_unreported: AtomicU64::new(0),
            last_drop_report: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Takes room for one click in memory; `false` when the capacity is reached.
    pub(crate) fn reserve(&self) -> bool {
        if self.held.fetch_add(1, Ordering::SeqCst) < self.capacity {
            return true;
        }
        self.held.fetch_sub(1, Ordering::SeqCst);
        false
    }

    /// `clicks` left memory (written, spilled or lost).
    pub(crate) fn release(&self, clicks: u64) {
        self.held.fetch_sub(clicks, Ordering::SeqCst);
    }

    /// A reserved click was accepted into the queue.
    pub(crate) fn accept(&self) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// `clicks` more of this process's clicks have settled.
    pub(crate) fn settle(&self, clicks: u64) {
        self.settled.send_modify(|(settled, _)| *settled += clicks);
    }

    /// The pipeline has stopped: nobody waits for it any longer.
    pub(crate) fn stop(&self) {
        self.settled.send_modify(|(_, stopped)| *stopped = true);
    }

    /// Waits until `target` clicks have settled or the pipeline stopped.
    pub(crate) async fn wait_settled(&self, target: u64) {
        let mut settled = self.settled.subscribe();
        let _ = settled
            .wait_for(|(settled, stopped)| *settled >= target || *stopped)
            .await;
    }

    /// A click the queue could not take.
    pub(crate) fn record_drop(&self) {
        self.drops_unreported.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs the drops since the last report, at most once per interval.
    pub(crate) fn report_drops(&self) {
        let mut last = self
            .last_drop_report
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.elapsed() < DROP_LOG_INTERVAL {
            return;
        }
        *last = Instant::now();
        let dropped = self.drops_unreported.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                interval_secs = DROP_LOG_INTERVAL.as_secs(),
                "click queue full; clicks dropped"
            );
        }
    }
}
