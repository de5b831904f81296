//! The writer: takes batches from the intake (in memory) and from the spill (on disk), in
//! the order they were cut, and writes each exactly once. A transient failure (Postgres
//! away, a lost race) is retried with back-off; meanwhile the intake spills, so memory
//! stays bounded. A permanent failure (a value the database refuses) never stalls the
//! pipeline: the batch is split in halves until the clicks at fault are alone, those are
//! rejected (counted and logged), the rest written. At shutdown, what cannot be written
//! within the budget goes to the spill, for the next start to replay.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use shortener_metrics::Metrics;
use shortener_store::clicks::{self as click_rows, BatchWrite};
use shortener_store::{Db, DbFailure};

use crate::batch::{Batch, Origin, Part};
use crate::classify::Classifier;
use crate::progress::Progress;
use crate::spill::{Spill, SpilledBatch};

/// Longest pause between attempts while the database is failing.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(2);

pub(crate) struct Parts {
    pub db: Db,
    pub pending: mpsc::Receiver<Batch>,
    pub spill: Option<Arc<Spill>>,
    pub spill_ready: Arc<Notify>,
    /// Shared with the intake ([`crate::intake::Parts::routing`]).
    pub routing: Arc<tokio::sync::Mutex<()>>,
    pub metrics: Metrics,
    pub progress: Arc<Progress>,
}

pub(crate) struct Writer {
    parts: Parts,
    /// The intake has stopped sending.
    intake_closed: bool,
    /// Batches taken from the intake that the spill could not take: written first.
    held_back: VecDeque<Batch>,
    classifier: Classifier,
}

/// A batch was not (wholly) written when the writer had to stop.
struct Unfinished;

impl Writer {
    pub(crate) fn new(parts: Parts) -> Self {
        let inherited = parts
            .spill
            .as_ref()
            .map_or(0, |spill| spill.unread_records());
        if inherited > 0 {
            tracing::info!(
                batches = inherited,
                "replaying the clicks a previous process spilled"
            );
        }
        Self {
            parts,
            intake_closed: false,
            held_back: VecDeque::new(),
            classifier: Classifier::default(),
        }
    }

    /// Writes batches until `stop`, then drains within the budget read at that moment.
    pub(crate) async fn run(mut self, stop: CancellationToken, drain_budget: DrainBudget) {
        let mut unfinished = None;
        while let Some(batch) = self.next_batch(&stop, None).await {
            if self.write(&batch, &stop).await.is_err() {
                unfinished = Some(batch);
                break;
            }
        }
        self.drain(unfinished, drain_budget.get()).await;
        self.parts.progress.stop();
    }

    /// The next batch in cut order: the intake's first (older than anything spilled
    /// after them), then the spill's. `None` once the intake has closed and the spill is
    /// read to its end, or when `stop` fires or `give_up` passes while it waits (a read
    /// of the spill is never cut off half-way).
    async fn next_batch(
        &mut self,
        stop: &CancellationToken,
        give_up: Option<Instant>,
    ) -> Option<Batch> {
        loop {
            if let Some(batch) = self.held_back.pop_front() {
                return Some(batch);
            }
            match self.parts.pending.try_recv() {
                Ok(batch) => return Some(batch),
                Err(mpsc::error::TryRecvError::Disconnected) => self.intake_closed = true,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if let Some(batch) = self.read_spill().await {
                return Some(batch);
            }
            if self.intake_closed {
                return None;
            }
            let give_up = give_up.map_or_else(
                || futures_pending().boxed(),
                |at| tokio::time::sleep_until(at).boxed(),
            );
            tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                () = give_up => return None,
                batch = self.parts.pending.recv() => match batch {
                    Some(batch) => return Some(batch),
                    None => self.intake_closed = true,
                },
                () = self.parts.spill_ready.notified() => {}
            }
        }
    }

    /// The next batch of the spill, if any.
    async fn read_spill(&mut self) -> Option<Batch> {
        let spill = self.parts.spill.clone()?;
        let read = tokio::task::spawn_blocking(move || spill.next()).await;
        let (next, skipped) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(error)) => {
                tracing::error!(%error, "reading the click spill failed");
                return None;
            }
            Err(error) => {
                tracing::error!(%error, "reading the click spill failed");
                return None;
            }
        };
        if skipped > 0 {
            self.parts.metrics.spill.unreadable.inc_by(skipped);
            tracing::error!(
                records = skipped,
                "click spill records could not be read back (cut off by a crash); skipped"
            );
        }
        let (record, position) = next?;
        Some(Batch {
            id: record.id,
            clicks: record.clicks,
            origin: Origin::Spilled {
                position,
                inherited: position.inherited,
            },
        })
    }

    /// Writes every part of `batch`, retrying transient failures until `stop` fires
    /// (then `Err`: the batch is not wholly written).
    async fn write(&mut self, batch: &Batch, stop: &CancellationToken) -> Result<(), Unfinished> {
        let mut parts = VecDeque::from([Part::whole(batch)]);
        let mut delay = Duration::from_millis(50);
        // Classified once, however many attempts and parts the batch takes.
        let classifying = std::time::Instant::now();
        let traits = self.classifier.classify_all(&batch.clicks);
        self.parts
            .metrics
            .click_classify_seconds
            .observe(classifying.elapsed().as_secs_f64());
        while let Some(part) = parts.pop_front() {
            let range = part.start..part.start + part.len;
            let clicks = &batch.clicks[range.clone()];
            let started = std::time::Instant::now();
            let written = match self.parts.db.connection("clicks.write_batch").await {
                Ok(mut connection) => {
                    click_rows::write_batch(&mut connection, part.id, clicks, &traits[range]).await
                }
                Err(error) => Err(error),
            };
            match written {
                Ok(outcome) => {
                    delay = Duration::from_millis(50);
                    self.parts
                        .metrics
                        .click_flush_seconds
                        .observe(started.elapsed().as_secs_f64());
                    self.account(batch, part, outcome);
                }
                Err(error) if DbFailure::of(&error).is_transient() => {
                    self.parts.metrics.click_flush_failures.inc();
                    tracing::warn!(%error, clicks = part.len, "writing clicks failed; retrying");
                    self.parts.progress.report_drops();
                    // While Postgres is away, what is in memory goes to disk: a process
                    // killed meanwhile loses nothing it had taken from the queue.
                    if batch.origin == Origin::Fresh && self.spill_from_memory(batch).await {
                        return Ok(());
                    }
                    parts.push_front(part);
                    tokio::select! {
                        () = stop.cancelled() => return Err(Unfinished),
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                Err(error) if part.len == 1 => {
                    self.parts.metrics.click_flush_failures.inc();
                    self.reject(batch, part, &error);
                }
                Err(_) => {
                    self.parts.metrics.click_flush_failures.inc();
                    let [first, second] = part.halves(batch.id);
                    parts.push_front(second);
                    parts.push_front(first);
                }
            }
        }
        self.finish(batch).await;
        Ok(())
    }

    /// Moves `batch` (its whole, with its id: a replay skips the parts already written)
    /// and every batch waiting in memory to the spill, in that order; `false` when there
    /// is no spill or it cannot take them (then they stay in memory).
    async fn spill_from_memory(&mut self, batch: &Batch) -> bool {
        let Some(spill) = self.parts.spill.clone() else {
            return false;
        };
        // No batch is routed meanwhile: one sent to memory after the loop below would be
        // read before the older ones moved to the spill.
        let routing = self.parts.routing.clone();
        let _routing = routing.lock().await;
        let mut batches = vec![batch.clone()];
        while let Ok(waiting) = self.parts.pending.try_recv() {
            batches.push(waiting);
        }
        let records: Vec<(SpilledBatch, Origin)> = batches
            .into_iter()
            .map(|batch| {
                let record = SpilledBatch {
                    id: batch.id,
                    clicks: batch.clicks,
                };
                (record, batch.origin)
            })
            .collect();
        let appended = tokio::task::spawn_blocking(move || {
            let mut moved = Vec::new();
            let mut left = Vec::new();
            for (record, origin) in records {
                if left.is_empty() && spill.append(&record).is_ok() {
                    moved.push(record.clicks.len() as u64);
                } else {
                    left.push((record, origin));
                }
            }
            let _ = spill.sync();
            (moved, left, spill.bytes())
        })
        .await;
        let Ok((moved, left, bytes)) = appended else {
            return false;
        };
        let metrics = &self.parts.metrics;
        for clicks in &moved {
            metrics.spill.spilled.inc_by(*clicks);
            metrics.click_queue_depth.sub(*clicks as i64);
            self.parts.progress.release(*clicks);
        }
        metrics
            .spill
            .bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        // What the spill could not take is put back (the failed batch itself, if it is
        // among them, is retried by the caller).
        let failed_batch_moved = !moved.is_empty();
        for (record, origin) in left.into_iter().skip(usize::from(!failed_batch_moved)) {
            self.held_back.push_back(Batch {
                id: record.id,
                clicks: record.clicks,
                origin,
            });
        }
        if failed_batch_moved {
            tracing::warn!(
                batches = moved.len(),
                clicks = moved.iter().sum::<u64>(),
                "Postgres is away: clicks in memory moved to the spill"
            );
        }
        failed_batch_moved
    }

    /// Books a written part.
    fn account(&self, batch: &Batch, part: Part, outcome: BatchWrite) {
        let metrics = &self.parts.metrics;
        let clicks = part.len as u64;
        let (stored, placed) = match outcome {
            BatchWrite::Written { stored, checks } => (stored, stored + checks),
            // Written before (a retry after a lost answer, or a replay): its clicks are in.
            BatchWrite::AlreadyWritten => {
                let checks = batch.clicks[part.start..part.start + part.len]
                    .iter()
                    .filter(|click| !click.intent.is_event())
                    .count() as u64;
                (clicks - checks, clicks)
            }
        };
        metrics.click_batch_size.observe(clicks as f64);
        metrics.clicks_written.inc_by(stored);
        let committed = chrono::Utc::now();
        for click in &batch.clicks[part.start..part.start + part.len] {
            let lag = (committed - click.at).to_std().unwrap_or_default();
            metrics.click_lag_seconds.observe(lag.as_secs_f64());
        }
        let missing = clicks.saturating_sub(placed);
        if missing > 0 {
            metrics.clicks_rejected.inc_by(missing);
            tracing::warn!(
                rejected = missing,
                "clicks rejected: their link no longer exists in the database"
            );
        }
    }

    /// Gives up on one click the database refuses for good.
    fn reject(&self, batch: &Batch, part: Part, error: &sqlx::Error) {
        self.parts.metrics.clicks_rejected.inc_by(part.len as u64);
        for click in &batch.clicks[part.start..part.start + part.len] {
            tracing::error!(%error, url_id = click.url_id, "click rejected by the database; not retried");
        }
    }

    /// A batch is wholly settled: its spill position can go, its clicks count as settled.
    async fn finish(&self, batch: &Batch) {
        let clicks = batch.clicks.len() as u64;
        match batch.origin {
            Origin::Fresh => {
                self.parts.metrics.click_queue_depth.sub(clicks as i64);
                self.parts.progress.release(clicks);
            }
            Origin::Spilled { position, .. } => {
                self.parts.metrics.spill.replayed.inc_by(clicks);
                let spill = self
                    .parts
                    .spill
                    .clone()
                    .expect("a spilled batch has a spill");
                let committed = tokio::task::spawn_blocking(move || {
                    spill.commit(position).map(|()| spill.bytes())
                })
                .await;
                match committed {
                    Ok(Ok(bytes)) => self
                        .parts
                        .metrics
                        .spill
                        .bytes
                        .set(i64::try_from(bytes).unwrap_or(i64::MAX)),
                    Ok(Err(error)) => {
                        tracing::error!(%error, "forgetting a replayed click batch failed; a restart replays it (as a no-op)")
                    }
                    Err(error) => {
                        tracing::error!(%error, "forgetting a replayed click batch failed")
                    }
                }
            }
        }
        if batch.is_own() {
            self.parts.progress.settle(clicks);
        }
    }

    /// After `stop`: writes what is left within `budget`; what is still unwritten then
    /// goes to the spill (or, without one, is counted lost).
    async fn drain(&mut self, unfinished: Option<Batch>, budget: Duration) {
        let give_up = Instant::now() + budget;
        let never = CancellationToken::new();
        let mut current = unfinished;
        loop {
            let batch = match current.take() {
                Some(batch) => batch,
                None => match self.next_batch(&never, Some(give_up)).await {
                    Some(batch) => batch,
                    None => break,
                },
            };
            // Cut off at the deadline, a write's outcome is unknown: the batch is kept
            // with its id, so a replay finds it if it did commit.
            let written = tokio::time::timeout_at(give_up, self.write(&batch, &never)).await;
            if !matches!(written, Ok(Ok(()))) {
                current = Some(batch);
                break;
            }
        }
        // Out of time: nothing more comes from the intake in memory; keep the rest.
        self.parts.pending.close();
        let mut left: Vec<Batch> = current.into_iter().collect();
        left.extend(self.held_back.drain(..));
        while let Ok(batch) = self.parts.pending.try_recv() {
            left.push(batch);
        }
        self.keep(left).await;
        let totals = &self.parts.metrics;
        tracing::info!(
            enqueued = totals.clicks_enqueued.get(),
            written = totals.clicks_written.get(),
            rejected = totals.clicks_rejected.get(),
            dropped = totals.clicks_dropped.get(),
            spilled = totals.spill.spilled.get(),
            replayed = totals.spill.replayed.get(),
            "click writer stopped; the pipeline's totals over this process's life"
        );
    }

    /// Keeps batches not written by the end of the drain: fresh ones go to the spill;
    /// spilled ones are still there. Without a spill they are lost, counted and logged.
    async fn keep(&self, batches: Vec<Batch>) {
        let metrics = &self.parts.metrics;
        let mut lost = 0;
        let mut spilled = 0;
        for batch in batches {
            let Origin::Fresh = batch.origin else {
                continue;
            };
            let clicks = batch.clicks.len() as u64;
            metrics.click_queue_depth.sub(clicks as i64);
            self.parts.progress.release(clicks);
            let Some(spill) = self.parts.spill.clone() else {
                lost += clicks;
                continue;
            };
            let record = SpilledBatch {
                id: batch.id,
                clicks: batch.clicks,
            };
            let appended = tokio::task::spawn_blocking(move || {
                spill.append(&record)?;
                spill.sync()
            })
            .await;
            match appended {
                Ok(Ok(())) => spilled += clicks,
                Ok(Err(error)) => {
                    tracing::error!(%error, "spilling clicks at shutdown failed");
                    metrics.spill.dropped.inc_by(clicks);
                    lost += clicks;
                }
                Err(error) => {
                    tracing::error!(%error, "spilling clicks at shutdown failed");
                    metrics.spill.dropped.inc_by(clicks);
                    lost += clicks;
                }
            }
        }
        if spilled > 0 {
            metrics.spill.spilled.inc_by(spilled);
            tracing::warn!(
                spilled,
                "clicks not written before the shutdown deadline went to the spill; the next start replays them"
            );
        }
        if lost > 0 {
            metrics.clicks_dropped.inc_by(lost);
            tracing::error!(
                lost,
                enqueued = metrics.clicks_enqueued.get(),
                written = metrics.clicks_written.get(),
                rejected = metrics.clicks_rejected.get(),
                dropped = metrics.clicks_dropped.get(),
                "click queue not drained before the deadline; clicks lost"
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

/// A future that never completes (no deadline to wait for).
fn futures_pending() -> std::future::Pending<()> {
    std::future::pending()
}
