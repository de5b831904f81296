//! The background writer: collects clicks into batches and inserts each batch in one
//! statement (the database's triggers add it to the counters and rollups); retries while
//! Postgres is away, and isolates the clicks the database refuses for good instead of
//! retrying them for ever.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ClickSettings, Command};
use shortener_domain::Click;
use shortener_metrics::Metrics;
use shortener_store::{Db, DbFailure, clicks as click_rows};

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
    /// after the drain budget read at that moment (what could not be written is counted
    /// and logged).
    pub async fn run(mut self, stop: CancellationToken, drain_budget: DrainBudget) {
        loop {
            let deadline = Instant::now() + self.settings.flush_interval;
            let stopping = self.collect_until(deadline, &stop).await;
            self.write_batch(&stop).await;
            self.report_drops();
            if stopping {
                break;
            }
        }
        self.drain(drain_budget.get()).await;
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

    /// Writes the whole batch; `false` when a transient error (Postgres away, a lost
    /// race) left clicks to retry, which stay in the batch. A permanent error (a value the
    /// database refuses) never stalls the pipeline: the batch is split in halves until
    /// the clicks at fault are alone, those are rejected (counted and logged), the rest
    /// written.
    ///
    /// Cancel-safe: the batch holds exactly the clicks not yet written or rejected, so
    /// a drain cut off by its deadline counts every click it did not store.
    async fn try_write(&mut self) -> bool {
        // Sizes of the parts still to write, in order, from the front of the batch.
        let mut parts = VecDeque::from([self.batch.len()]);
        while let Some(size) = parts.pop_front() {
            let started = std::time::Instant::now();
            let written = match self.db.connection("clicks.insert_batch").await {
                Ok(mut connection) => {
                    click_rows::insert_batch(&mut connection, &self.batch[..size]).await
                }
                Err(error) => Err(error),
            };
            match written {
                Ok(stored) => {
                    self.metrics
                        .click_flush_seconds
                        .observe(started.elapsed().as_secs_f64());
                    let committed = chrono::Utc::now();
                    for click in self.batch.drain(..size) {
                        let lag = (committed - click.at).to_std().unwrap_or_default();
                        self.metrics.click_lag_seconds.observe(lag.as_secs_f64());
                    }
                    self.account(size, stored);
                }
                Err(error) if DbFailure::of(&error).is_transient() => {
                    self.metrics.click_flush_failures.inc();
                    tracing::warn!(%error, held = self.batch.len(), "writing clicks failed; retrying");
                    return false;
                }
                Err(error) if size == 1 => {
                    self.metrics.click_flush_failures.inc();
                    let refused: Vec<Click> = self.batch.drain(..1).collect();
                    self.reject(&refused, &error);
                }
                Err(_) => {
                    self.metrics.click_flush_failures.inc();
                    parts.push_front(size - size / 2);
                    parts.push_front(size / 2);
                }
            }
        }
        true
    }

    /// Books a written part: `stored` of its `clicks` were stored, the others named a
    /// link that no longer exists.
    fn account(&self, clicks: usize, stored: u64) {
        let clicks = clicks as u64;
        self.metrics.click_batch_size.observe(clicks as f64);
        self.metrics.clicks_written.inc_by(stored);
        self.metrics.click_queue_depth.sub(clicks as i64);
        let missing = clicks.saturating_sub(stored);
        if missing > 0 {
            self.metrics.clicks_rejected.inc_by(missing);
            tracing::warn!(
                rejected = missing,
                "clicks rejected: their link no longer exists in the database"
            );
        }
    }

    /// Gives up on one click the database refuses for good.
    fn reject(&self, clicks: &[Click], error: &sqlx::Error) {
        self.metrics.clicks_rejected.inc_by(clicks.len() as u64);
        self.metrics.click_queue_depth.sub(clicks.len() as i64);
        for click in clicks {
            tracing::error!(%error, url_id = click.url_id, "click rejected by the database; not retried");
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
                let totals = &self.metrics;
                tracing::error!(
                    lost,
                    enqueued = totals.clicks_enqueued.get(),
                    written = totals.clicks_written.get(),
                    rejected = totals.clicks_rejected.get(),
                    dropped = totals.clicks_dropped.get(),
                    "click queue not drained before the deadline; clicks lost"
                );
                return;
            }
        }
        for done in self.waiting.drain(..) {
            let _ = done.send(());
        }
        self.report_drops();
        let totals = &self.metrics;
        tracing::info!(
            enqueued = totals.clicks_enqueued.get(),
            written = totals.clicks_written.get(),
            rejected = totals.clicks_rejected.get(),
            dropped = totals.clicks_dropped.get(),
            "click queue drained; the pipeline's totals over this process's life"
        );
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

/// How long the drain after `stop` may take; shared, so shutdown can hand the writer
/// whatever is left of its grace period when it stops it.
#[derive(Debug, Clone)]
pub struct DrainBudget(Arc<AtomicU64>);

impl DrainBudget {
    pub fn new(budget: Duration) -> Self {
        Self(Arc::new(AtomicU64::new(millis(budget))))
    }

    /// Replaces the budget (takes effect if the drain has not begun).
    pub fn set(&self, budget: Duration) {
        self.0.store(millis(budget), Ordering::SeqCst);
    }

    pub fn get(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
