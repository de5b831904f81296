//! Click recording off the request path. Redirects enqueue into a bounded queue; the
//! intake places each click (its client's address becomes a country and a visitor id,
//! and is dropped: [`origin`]) and cuts them into batches, each with an id of its own, and
//! hands them to the writer, or, when the writer is behind or Postgres away, to the
//! on-disk spill; the writer classifies each batch ([`classify`]), commits it exactly once
//! (its id goes in with its clicks) and replays the spill in order. A full queue drops the
//! click, counted and logged; so does a full spill.

mod batch;
pub mod classify;
mod intake;
pub mod origin;
mod progress;
pub mod spill;
mod writer;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use shortener_domain::Click;
use shortener_metrics::Metrics;
use shortener_store::Db;

use batch::Batch;
use intake::Intake;
pub use origin::{GeoIp, OriginSettings, VisitorKey};
use progress::Progress;
pub use spill::{Spill, SpillError, SpillSettings};
pub use writer::DrainBudget;
use writer::Writer;

/// Batches the intake may hold for the writer in memory before it spills.
const PENDING_BATCHES: usize = 4;

/// Sizing and timing of the pipeline.
#[derive(Debug, Clone)]
pub struct ClickSettings {
    /// Clicks held in memory (queue plus the batches being cut and written) before new
    /// ones are dropped.
    pub capacity: usize,
    /// Largest batch written at once.
    pub max_batch: usize,
    /// Longest a click waits before its batch is written.
    pub flush_interval: Duration,
    /// The on-disk spill (`None`: clicks the writer cannot take in time wait in memory,
    /// and are dropped past the capacity or lost at shutdown).
    pub spill: Option<SpillSettings>,
    /// The country database and the visitor key the intake places clicks with.
    pub origins: OriginSettings,
}

impl Default for ClickSettings {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_batch: 1_000,
            flush_interval: Duration::from_millis(50),
            spill: None,
            origins: OriginSettings::default(),
        }
    }
}

/// What the intake is asked to do.
enum Command {
    /// A click and its client's address, which the intake turns into the click's country
    /// and visitor id and forgets.
    Record(Click, Option<IpAddr>),
    /// Cut the batch now (a caller waits for everything so far to be written).
    Flush,
}

/// The redirect side of the pipeline; cloning shares the queue.
#[derive(Clone)]
pub struct ClickQueue {
    sender: mpsc::Sender<Command>,
    metrics: Metrics,
    progress: Arc<Progress>,
    origins: OriginSettings,
}

impl ClickQueue {
    /// The country database and visitor key clicks are placed with, which a redirect of a
    /// targeted link asks too (a rule's country, a split's visitor).
    pub fn origins(&self) -> &OriginSettings {
        &self.origins
    }

    /// Accepts a click from `client` without waiting; when the queue is full the click is
    /// dropped (counted in `shortener_clicks_dropped_total`, logged once per interval).
    pub fn enqueue(&self, click: Click, client: Option<IpAddr>) {
        if self.progress.reserve() {
            if self.sender.try_send(Command::Record(click, client)).is_ok() {
                self.progress.accept();
                self.metrics.clicks_enqueued.inc();
                self.metrics.click_queue_depth.inc();
                return;
            }
            self.progress.release(1);
        }
        self.metrics.clicks_dropped.inc();
        self.progress.record_drop();
    }

    /// Waits until every click accepted before this call is written (or given up for
    /// good), or the pipeline has stopped.
    pub async fn flush(&self) {
        let target = self.progress.accepted();
        if self.sender.send(Command::Flush).await.is_err() {
            return;
        }
        self.progress.wait_settled(target).await;
    }
}

/// The intake and the writer, to run with [`ClickPipeline::run`].
pub struct ClickPipeline {
    intake: Intake,
    writer: Writer,
}

impl ClickPipeline {
    /// Cuts and writes batches until `stop` is cancelled; then the queue is cut into
    /// batches to its end and written within the drain budget read at that moment, and
    /// what cannot be written goes to the spill (or, without one, is counted lost).
    pub async fn run(self, stop: CancellationToken, drain_budget: DrainBudget) {
        let Self { intake, writer } = self;
        tokio::join!(intake.run(stop.clone()), writer.run(stop, drain_budget));
    }
}

/// Creates the queue and the pipeline that drains it; opens the spill, whose batches
/// left by a previous process are written first.
pub fn pipeline(
    db: Db,
    settings: &ClickSettings,
    metrics: Metrics,
) -> Result<(ClickQueue, ClickPipeline), SpillError> {
    let spill = match &settings.spill {
        Some(spill_settings) => {
            let spill = Spill::open(spill_settings)?;
            metrics.spill.max_bytes.set(gauge(spill_settings.max_bytes));
            metrics.spill.bytes.set(gauge(spill.bytes()));
            Some(Arc::new(spill))
        }
        None => None,
    };
    // Every click in memory counts towards the capacity, in the queue or in a batch
    // (`Progress::reserve`); the queue itself never fills first.
    let (sender, receiver) = mpsc::channel(settings.capacity.max(1) + 1);
    let (pending_sender, pending) = mpsc::channel::<Batch>(PENDING_BATCHES);
    let progress = Arc::new(Progress::new(settings.capacity));
    let spill_ready = Arc::new(Notify::new());
    let routing = Arc::new(tokio::sync::Mutex::new(()));
    let queue = ClickQueue {
        sender,
        metrics: metrics.clone(),
        progress: progress.clone(),
        origins: settings.origins.clone(),
    };
    let intake = Intake::new(intake::Parts {
        receiver,
        pending: pending_sender,
        spill: spill.clone(),
        spill_ready: spill_ready.clone(),
        routing: routing.clone(),
        settings: settings.clone(),
        metrics: metrics.clone(),
        progress: progress.clone(),
    });
    let writer = Writer::new(writer::Parts {
        db,
        pending,
        spill,
        spill_ready,
        routing,
        metrics,
        progress,
    });
    Ok((queue, ClickPipeline { intake, writer }))
}

fn gauge(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}
