//! The intake: drains the redirects' queue into batches and routes each one. A batch goes
//! to the writer in memory while the writer keeps up and the spill is empty; otherwise to
//! the spill, behind what is already there, so batches reach Postgres in the order they
//! were cut. Without a spill it waits for the writer, and the queue in front fills.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use shortener_domain::Click;
use shortener_metrics::Metrics;

use crate::batch::Batch;
use crate::origin::Origins;
use crate::progress::Progress;
use crate::spill::{Spill, SpilledBatch};
use crate::{ClickSettings, Command};

/// How often what was spilled is forced onto the disk.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// How often the spills of replicas that are gone are looked for.
const ADOPT_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) struct Parts {
    pub receiver: mpsc::Receiver<Command>,
    pub pending: mpsc::Sender<Batch>,
    pub spill: Option<Arc<Spill>>,
    pub spill_ready: Arc<Notify>,
    /// Held while a batch's way is chosen and taken, and by the writer while it moves
    /// memory to the spill (see [`crate::writer`]), so batches keep the order they were cut
    /// in.
    pub routing: Arc<tokio::sync::Mutex<()>>,
    pub settings: ClickSettings,
    pub metrics: Metrics,
    pub progress: Arc<Progress>,
}

pub(crate) struct Intake {
    parts: Parts,
    batch: Vec<Click>,
    origins: Origins,
    /// Spilled since the last sync.
    unsynced: bool,
    last_sync: Instant,
    last_adoption: Instant,
}

impl Intake {
    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            batch: Vec::with_capacity(parts.settings.max_batch),
            origins: Origins::new(parts.settings.origins.clone()),
            parts,
            unsynced: false,
            last_sync: Instant::now(),
            last_adoption: Instant::now(),
        }
    }

    /// Cuts batches until `stop`; then takes what is left in the queue, cuts it, and
    /// returns, which closes the writer's intake.
    pub(crate) async fn run(mut self, stop: CancellationToken) {
        loop {
            let deadline = Instant::now() + self.parts.settings.flush_interval;
            let stopping = self.collect_until(deadline, &stop).await;
            self.emit().await;
            self.parts.progress.report_drops();
            self.sync_spill(false).await;
            self.adopt_orphans().await;
            if stopping {
                break;
            }
        }
        self.parts.receiver.close();
        while let Ok(command) = self.parts.receiver.try_recv() {
            if let Command::Record(click, client) = command {
                self.take(click, client);
                if self.batch.len() >= self.parts.settings.max_batch {
                    self.emit().await;
                }
            }
        }
        self.emit().await;
        self.sync_spill(true).await;
    }

    /// Fills the batch until it is full, the deadline passes, a flush is asked for, or
    /// `stop` fires (then returns true).
    async fn collect_until(&mut self, deadline: Instant, stop: &CancellationToken) -> bool {
        while self.batch.len() < self.parts.settings.max_batch {
            let command = tokio::select! {
                biased;
                () = stop.cancelled() => return true,
                () = tokio::time::sleep_until(deadline) => return false,
                command = self.parts.receiver.recv() => command,
            };
            match command {
                Some(Command::Record(click, client)) => self.take(click, client),
                Some(Command::Flush) => return false,
                None => return true,
            }
        }
        false
    }

    /// Adds a click to the batch, placed by its client's address (then forgotten).
    fn take(&mut self, mut click: Click, client: Option<IpAddr>) {
        if let Some(address) = client {
            self.origins.place(&mut click, address);
        }
        self.batch.push(click);
    }

    /// Routes the batch cut so far.
    async fn emit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let clicks = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.parts.settings.max_batch),
        );
        let batch = Batch::fresh(clicks);
        let Some(spill) = self.parts.spill.clone() else {
            // No spill: wait for the writer (the queue in front absorbs the wait).
            if let Err(refused) = self.parts.pending.send(batch).await {
                self.lose(&refused.0, "the click writer has stopped");
            }
            return;
        };
        // Under the routing lock: either this batch is in memory before the writer moves
        // memory to the spill (and is moved with it), or it sees the spill the writer
        // filled and goes behind it.
        let routing = self.parts.routing.clone();
        let _routing = routing.lock().await;
        let spill_busy = {
            let spill = spill.clone();
            tokio::task::spawn_blocking(move || spill.has_unread())
                .await
                .unwrap_or(true)
        };
        let batch = if spill_busy {
            batch
        } else {
            match self.parts.pending.try_send(batch) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(batch))
                | Err(mpsc::error::TrySendError::Closed(batch)) => batch,
            }
        };
        self.spill(&spill, batch).await;
    }

    /// Appends a batch to the spill; counts it lost when the spill cannot take it.
    async fn spill(&mut self, spill: &Arc<Spill>, batch: Batch) {
        let clicks = batch.clicks.len() as u64;
        let record = SpilledBatch {
            id: batch.id,
            clicks: batch.clicks,
        };
        let appended = {
            let spill = spill.clone();
            tokio::task::spawn_blocking(move || spill.append(&record).map(|()| spill.bytes())).await
        };
        let metrics = &self.parts.metrics;
        match appended {
            Ok(Ok(bytes)) => {
                metrics.spill.spilled.inc_by(clicks);
                metrics
                    .spill
                    .bytes
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
                metrics.click_queue_depth.sub(clicks as i64);
                self.parts.progress.release(clicks);
                self.unsynced = true;
                self.parts.spill_ready.notify_one();
            }
            Ok(Err(error)) => {
                metrics.spill.dropped.inc_by(clicks);
                self.lose_counted(clicks, &error.to_string());
            }
            Err(join) => {
                metrics.spill.dropped.inc_by(clicks);
                self.lose_counted(clicks, &join.to_string());
            }
        }
    }

    fn lose(&self, batch: &Batch, why: &str) {
        self.lose_counted(batch.clicks.len() as u64, why);
    }

    /// Clicks that cannot be kept: counted as dropped, logged, and settled.
    fn lose_counted(&self, clicks: u64, why: &str) {
        let metrics = &self.parts.metrics;
        metrics.clicks_dropped.inc_by(clicks);
        metrics.click_queue_depth.sub(clicks as i64);
        self.parts.progress.release(clicks);
        self.parts.progress.settle(clicks);
        tracing::error!(lost = clicks, reason = why, "clicks lost");
    }

    /// Takes over the spills of replicas that are gone, every [`ADOPT_INTERVAL`].
    async fn adopt_orphans(&mut self) {
        let Some(spill) = self.parts.spill.clone() else {
            return;
        };
        if self.last_adoption.elapsed() < ADOPT_INTERVAL {
            return;
        }
        self.last_adoption = Instant::now();
        match tokio::task::spawn_blocking(move || spill.adopt_orphans()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => self.parts.spill_ready.notify_one(),
            Ok(Err(error)) => tracing::error!(%error, "adopting a click spill failed"),
            Err(error) => tracing::error!(%error, "adopting a click spill failed"),
        }
    }

    /// Forces spilled batches onto the disk, at most every [`SYNC_INTERVAL`] unless
    /// `now` says otherwise.
    async fn sync_spill(&mut self, now: bool) {
        let Some(spill) = self.parts.spill.clone() else {
            return;
        };
        if !self.unsynced || (!now && self.last_sync.elapsed() < SYNC_INTERVAL) {
            return;
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        match tokio::task::spawn_blocking(move || spill.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "syncing the click spill failed"),
            Err(error) => tracing::error!(%error, "syncing the click spill failed"),
        }
    }
}
