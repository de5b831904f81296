//! The background writer: collects clicks into batches and inserts each batch, with its
//! per-link counters, in one transaction; retries while Postgres is away.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ClickSettings, Command};
use crate::db::{Db, clicks as click_rows};
use crate::domain::Click;
use crate::metrics::Metrics;

/// How often dropped clicks are reported in the log.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// Longest pause between attempts while the database is failing.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Drops since the last log line.
#[derive(Debug, Default)]
pub struct DropLog {
    since_last_line: AtomicU64,
}

impl DropLog {
    pub fn record(&self) {
        self.since_last_line.fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> u64 {
        self.since_last_line.swap(0, Ordering::Relaxed)
    }
}

/// Owns the receiving end of the queue.
pub struct ClickWriter {
    db: Db,
    receiver: mpsc::Receiver<Command>,
    settings: ClickSettings,
    metrics: Metrics,
    dropped: std::sync::Arc<DropLog>,
    batch: Vec<Click>,
    waiting: Vec<oneshot::Sender<()>>,
    last_drop_log: Instant,
}

impl ClickWriter {
    pub(super) fn new(
        db: Db,
        receiver: mpsc::Receiver<Command>,
        settings: ClickSettings,
        metrics: Metrics,
        dropped: std::sync::Arc<DropLog>,
    ) -> Self {
        Self {
            db,
            receiver,
            batch: Vec::with_capacity(settings.max_batch),
            settings,
            metrics,
            dropped,
            waiting: Vec::new(),
            last_drop_log: Instant::now(),
        }
    }

    /// Writes batches until `stop` is cancelled, then writes what is left, giving up
    /// after `drain_deadline` (what could not be written is counted and logged).
    pub async fn run(mut self, stop: CancellationToken, drain_deadline: Duration) {
        loop {
            let deadline = Instant::now() + self.settings.flush_interval;
            let stopping = self.collect_until(deadline, &stop).await;
            self.write_batch(&stop).await;
            self.report_drops();
            if stopping {
                break;
            }
        }
        self.drain(drain_deadline).await;
    }

    /// Fills the batch until it is full, the deadline passes, a flush is asked for, or
    /// `stop` fires (then returns true).
    async fn collect_until(&mut self, deadline: Instant, stop: &CancellationToken) -> bool {
        while self.batch.len() < self.settings.max_batch {
            let command = tokio::select! {
                biased;
                () = stop.cancelled() => return true,
                () = tokio::time::sleep_until(deadline) => return false,
                command = self.receiver.recv() => command,
            };
            match command {
                Some(Command::Record(click)) => self.batch.push(click),
                Some(Command::Flush(done)) => {
                    self.waiting.push(done);
                    return false;
                }
                None => return true,
            }
        }
        false
    }

    /// Writes the batch, retrying with back-off until it succeeds or `stop` fires.
    async fn write_batch(&mut self, stop: &CancellationToken) {
        let mut delay = Duration::from_millis(50);
        while !self.batch.is_empty() {
            if self.try_write().await {
                break;
            }
            // Drops happen precisely while writes fail: report them here too.
            self.report_drops();
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(());
        }
    }

    async fn try_write(&mut self) -> bool {
        let started = std::time::Instant::now();
        let written = match self.db.connection("clicks.insert_batch").await {
            Ok(mut connection) => click_rows::insert_batch(&mut connection, &self.batch).await,
            Err(error) => Err(error),
        };
        match written {
            Ok(()) => {
                let written = self.batch.len() as u64;
                self.metrics
                    .click_flush_seconds
                    .observe(started.elapsed().as_secs_f64());
                self.metrics.click_batch_size.observe(written as f64);
                self.metrics.clicks_written.inc_by(written);
                self.metrics.click_queue_depth.sub(written as i64);
                self.batch.clear();
                true
            }
            Err(error) => {
                self.metrics.click_flush_failures.inc();
                tracing::warn!(%error, held = self.batch.len(), "writing clicks failed; retrying");
                false
            }
        }
    }

    /// After `stop`: everything still queued is written within the deadline.
    async fn drain(mut self, deadline: Duration) {
        self.receiver.close();
        let give_up = Instant::now() + deadline;
        loop {
            while self.batch.len() < self.settings.max_batch {
                match self.receiver.try_recv() {
                    Ok(Command::Record(click)) => self.batch.push(click),
                    Ok(Command::Flush(done)) => self.waiting.push(done),
                    Err(_) => break,
                }
            }
            if self.batch.is_empty() {
                break;
            }
            let never = CancellationToken::new();
            if tokio::time::timeout_at(give_up, self.write_batch(&never))
                .await
                .is_err()
            {
                let lost = self.batch.len() + self.receiver.len();
                self.metrics.clicks_dropped.inc_by(lost as u64);
                self.metrics.click_queue_depth.sub(lost as i64);
                tracing::error!(
                    lost,
                    "click queue not drained before the deadline; clicks lost"
                );
                return;
            }
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(());
        }
        self.report_drops();
        tracing::info!("click queue drained");
    }

    fn report_drops(&mut self) {
        if self.last_drop_log.elapsed() < DROP_LOG_INTERVAL {
            return;
        }
        self.last_drop_log = Instant::now();
        let dropped = self.dropped.take();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                interval_secs = DROP_LOG_INTERVAL.as_secs(),
                "click queue full; clicks dropped"
            );
        }
    }
}
