//! Click recording off the request path: redirects enqueue into a bounded queue and a
//! background writer inserts batches. A full queue drops the click, counted and logged.

mod writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use shortener_domain::Click;
use shortener_metrics::Metrics;
use shortener_store::Db;
pub use writer::{ClickWriter, DrainBudget};

/// Sizing and timing of the pipeline.
#[derive(Debug, Clone)]
pub struct ClickSettings {
    /// Clicks held in memory (queue plus the batch being written) before new ones are dropped.
    pub capacity: usize,
    /// Largest batch written at once.
    pub max_batch: usize,
    /// Longest a click waits before its batch is written.
    pub flush_interval: Duration,
}

impl Default for ClickSettings {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_batch: 1_000,
            flush_interval: Duration::from_millis(50),
        }
    }
}

/// What the writer is asked to do.
enum Command {
    Record(Click),
    /// Write everything accepted so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// The redirect side of the pipeline; cloning shares the queue.
#[derive(Clone)]
pub struct ClickQueue {
    sender: mpsc::Sender<Command>,
    metrics: Metrics,
    dropped: Arc<writer::DropLog>,
}

impl ClickQueue {
    /// Accepts a click without waiting; when the queue is full the click is dropped
    /// (counted in `shortener_clicks_dropped_total`, logged once per interval).
    pub fn enqueue(&self, click: Click) {
        match self.sender.try_send(Command::Record(click)) {
            Ok(()) => {
                self.metrics.clicks_enqueued.inc();
                self.metrics.click_queue_depth.inc();
            }
            Err(_) => {
                self.metrics.clicks_dropped.inc();
                self.dropped.record();
            }
        }
    }

    /// Waits until every click accepted before this call is written (or the writer stopped).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

/// Creates the queue and the writer that drains it (run it with [`ClickWriter::run`]).
pub fn pipeline(db: Db, settings: &ClickSettings, metrics: Metrics) -> (ClickQueue, ClickWriter) {
    // The queue holds clicks while the writer holds at most one batch: both count
    // towards the capacity.
    let queue_slots = settings.capacity.saturating_sub(settings.max_batch).max(1);
    let (sender, receiver) = mpsc::channel(queue_slots);
    let dropped = Arc::new(writer::DropLog::default());
    let queue = ClickQueue {
        sender,
        metrics: metrics.clone(),
        dropped: dropped.clone(),
    };
    let writer = ClickWriter::new(db, receiver, settings.clone(), metrics, dropped);
    (queue, writer)
}
