//! The webhook worker every replica runs: it claims due deliveries from the outbox
//! (`FOR UPDATE SKIP LOCKED`, under a lease), sends each with a bounded number in
//! flight, and records the outcome: delivered, due again after the retry schedule's next
//! wait, or failed, which counts against its subscription until the subscription is
//! turned off. Delivery is at least once: an attempt whose answer is lost (the replica
//! dies mid-request) is sent again when its lease lapses, with the same `webhook-id`.

mod pacing;
mod sender;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use pacing::Pacing;
pub use sender::ANSWER_READ_LIMIT;
use sender::{Answer, Sender};
use shortener_domain::RetrySchedule;
use shortener_metrics::Metrics;
use shortener_store::webhook_deliveries::{self as outbox, AfterFailure, Claimed};
use shortener_store::{Db, click_tallies};

/// How the worker delivers.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often an idle worker looks for due deliveries (`WEBHOOK_POLL_MS`).
    pub poll_interval: Duration,
    /// Attempts in flight on one replica at most (`WEBHOOK_CONCURRENCY`).
    pub concurrency: usize,
    /// Attempts a second one replica sends to one receiver host at most
    /// (`WEBHOOK_RATE_PER_DESTINATION`); over it, a delivery waits its turn uncounted.
    pub rate_per_destination: NonZeroU32,
    /// Longest one attempt may take, connection included (`WEBHOOK_TIMEOUT_MS`).
    pub timeout: Duration,
    /// The waits between attempts.
    pub schedule: RetrySchedule,
    /// Failed deliveries in a row that turn a subscription off (`WEBHOOK_DISABLE_AFTER`).
    pub disable_after: i32,
    /// `ALLOW_PRIVATE_TARGETS`: deliveries may go to internal addresses.
    pub allow_private_targets: bool,
    /// How long a link's clicks gather before they are sent as one `link.clicked` event:
    /// a minute (tests shorten it).
    pub clicked_window: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            concurrency: 16,
            rate_per_destination: NonZeroU32::new(20).expect("not zero"),
            timeout: Duration::from_secs(10),
            schedule: RetrySchedule::default(),
            disable_after: 5,
            allow_private_targets: false,
            clicked_window: Duration::from_secs(60),
        }
    }
}

impl WebhookSettings {
    /// How long a claimed delivery is this replica's: the attempt's timeout and a margin
    /// for recording it. Past it another replica may send it again.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(30)
    }
}

/// The waits between tries at recording an attempt's outcome.
const RECORD_RETRIES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// How often the outbox's backlog is sampled for the metrics.
const BACKLOG_SAMPLE: Duration = Duration::from_secs(5);

/// How often the click tallies a window old are turned into `link.clicked` events.
const TALLY_FLUSH: Duration = Duration::from_secs(1);

/// Tallies turned into events by one statement at most.
const TALLY_ROUND: i64 = 1_000;

/// How long a stopping worker waits for its attempts in flight; those still running are
/// cut off, and sent again by a replica once their leases lapse.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// One replica's webhook worker.
pub struct Worker {
    settings: WebhookSettings,
    sender: Sender,
    pacing: Pacing,
}

impl Worker {
    /// A worker with its HTTP client; an error if the client cannot be built.
    pub fn new(settings: WebhookSettings) -> Result<Self, String> {
        let sender = Sender::new(settings.timeout, settings.allow_private_targets)?;
        let pacing = Pacing::new(settings.rate_per_destination);
        Ok(Self {
            settings,
            sender,
            pacing,
        })
    }

    /// Delivers until `stop` is cancelled.
    pub async fn run(self, db: Db, metrics: Metrics, stop: CancellationToken) {
        let worker = Arc::new(self);
        let permits = Arc::new(Semaphore::new(worker.settings.concurrency));
        let mut attempts = JoinSet::new();
        let mut sampled: Option<Instant> = None;
        let mut flushed: Option<Instant> = None;
        while !stop.is_cancelled() {
            while attempts.try_join_next().is_some() {}
            if sampled.is_none_or(|at| at.elapsed() >= BACKLOG_SAMPLE) {
                sample_backlog(&db, &metrics).await;
                sampled = Some(Instant::now());
            }
            if flushed.is_none_or(|at| at.elapsed() >= TALLY_FLUSH) {
                flush_click_tallies(&db, worker.settings.clicked_window).await;
                flushed = Some(Instant::now());
            }
            // A free slot first: a busy worker claims again as soon as an attempt ends.
            let first = tokio::select! {
                () = stop.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let free = permits.available_permits() + 1;
            let claimed = claim(&db, free, worker.settings.lease()).await;
            let more_due = claimed.len() == free;
            let mut first = Some(first);
            for delivery in claimed {
                let permit = match first.take() {
                    Some(permit) => permit,
                    None => match permits.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                let (worker, db, metrics) = (worker.clone(), db.clone(), metrics.clone());
                attempts.spawn(async move {
                    worker.attempt(&db, &metrics, delivery).await;
                    drop(permit);
                });
            }
            drop(first);
            if more_due {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(worker.settings.poll_interval) => {}
            }
        }
        let finished = tokio::time::timeout(STOP_GRACE, async {
            while attempts.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::info!(
                cut = attempts.len(),
                "webhook attempts cut off at shutdown; sent again once their leases lapse"
            );
            attempts.abort_all();
        }
    }

    /// Sends one claimed delivery and records what came of it; one over its receiver's
    /// rate is put back for its turn instead.
    async fn attempt(&self, db: &Db, metrics: &Metrics, delivery: Claimed) {
        let wait = if delivery.paced {
            None
        } else {
            self.pacing.wait_for(&delivery.url)
        };
        if let Some(wait) = wait {
            let put_back = async {
                let mut conn = db.connection("webhooks.postpone").await?;
                outbox::postpone(&mut conn, delivery.id, delivery.attempts, wait).await
            }
            .await;
            if let Err(error) = put_back {
                tracing::warn!(%error, delivery = delivery.id,
                    "putting back a paced webhook delivery failed; it is due again when its lease lapses");
            }
            metrics
                .webhooks
                .attempts
                .with_label_values(&["paced"])
                .inc();
            return;
        }
        let (answer, took) = self.sender.send(&delivery).await;
        metrics.webhooks.attempt_seconds.observe(took.as_secs_f64());
        // Recording is safe to repeat (the claim's attempt count guards it): a busy pool
        // or a blip is waited out rather than left to the lease, which would send the
        // delivery again.
        let mut waits = RECORD_RETRIES.iter();
        let recorded = loop {
            match self.record(db, &delivery, &answer).await {
                Ok(outcome) => break Ok(outcome),
                Err(error) => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => break Err(error),
                },
            }
        };
        match recorded {
            Ok(outcome) => {
                let label = match outcome {
                    Outcome::Delivered => "delivered",
                    Outcome::After(AfterFailure::Retrying) => "retrying",
                    Outcome::After(AfterFailure::Failed) => "failed",
                    Outcome::After(AfterFailure::FailedAndDisabled) => {
                        metrics.webhooks.disabled.inc();
                        tracing::warn!(webhook = delivery.webhook_id, answer = %describe(&answer),
                            "webhook turned off: too many failed deliveries in a row");
                        "failed"
                    }
                    Outcome::Lost | Outcome::After(AfterFailure::ClaimLost) => "claim_lost",
                };
                metrics.webhooks.attempts.with_label_values(&[label]).inc();
            }
            Err(error) => {
                tracing::warn!(%error, delivery = delivery.id,
                    "recording a webhook attempt failed; it is sent again when its lease lapses");
            }
        }
    }

    /// Writes an attempt's outcome, while the claim is still this worker's.
    async fn record(
        &self,
        db: &Db,
        delivery: &Claimed,
        answer: &Answer,
    ) -> Result<Outcome, sqlx::Error> {
        if let Answer::Accepted { status } = answer {
            let mut conn = db.connection("webhooks.delivered").await?;
            let kept = outbox::record_delivered(
                &mut conn,
                delivery.id,
                delivery.attempts,
                (*status).into(),
            )
            .await?;
            return Ok(if kept {
                Outcome::Delivered
            } else {
                Outcome::Lost
            });
        }
        let status = match answer {
            Answer::Refused { status } => Some(i32::from(*status)),
            _ => None,
        };
        let failed = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
        let retry_in = self
            .settings
            .schedule
            .delay_after(failed, rand::random::<f64>());
        let reason = format!(
            "turned off after {} deliveries in a row failed; the last answer: {}",
            self.settings.disable_after,
            describe(answer)
        );
        let mut tx = db.begin("webhooks.failed").await?;
        let after = outbox::record_failed(
            &mut tx,
            delivery.id,
            delivery.attempts,
            status,
            &describe(answer),
            retry_in,
            self.settings.disable_after,
            &reason,
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::After(after))
    }
}

/// What recording an attempt came to.
enum Outcome {
    Delivered,
    /// Delivered, but the claim had lapsed: another attempt may follow.
    Lost,
    After(AfterFailure),
}

/// An answer in a few words, as `last_error` and the reason of a turned-off subscription
/// show it.
fn describe(answer: &Answer) -> String {
    match answer {
        Answer::Accepted { status } | Answer::Refused { status } => format!("HTTP {status}"),
        Answer::Unreachable { error } => error.clone(),
    }
}

/// Claims up to `limit` due deliveries; none when the database does not answer (the next
/// poll tries again). The claim is committed before any is sent: an autocommit statement
/// hands its rows back before its commit is visible, and an outcome recorded in between
/// would find the row unclaimed (measured: `scripts/bench-webhooks` counted 28 attempts
/// `claim_lost` of 3,856, each sent again once its lease lapsed).
async fn claim(db: &Db, limit: usize, lease: Duration) -> Vec<Claimed> {
    let claimed = async {
        let mut tx = db.begin("webhooks.claim").await?;
        let claimed =
            outbox::claim(&mut tx, i64::try_from(limit).unwrap_or(i64::MAX), lease).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(claimed)
    }
    .await;
    claimed.unwrap_or_else(|error| {
        tracing::warn!(%error, "claiming webhook deliveries failed; the next poll tries again");
        Vec::new()
    })
}

/// Turns the click tallies a window old into `link.clicked` deliveries, in rounds; a
/// failure leaves them for the next flush (they are only ever removed with their event).
async fn flush_click_tallies(db: &Db, window: Duration) {
    loop {
        let flushed = async {
            let mut conn = db.connection("webhooks.clicked").await?;
            click_tallies::flush_due(&mut conn, window, TALLY_ROUND).await
        }
        .await;
        match flushed {
            Ok(flushed) if flushed.links == TALLY_ROUND => continue,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%error, "sending tallied clicks as link.clicked failed; the next flush tries again");
                return;
            }
        }
    }
}

/// Sets the backlog gauges from the outbox.
async fn sample_backlog(db: &Db, metrics: &Metrics) {
    let sampled = async {
        let mut conn = db.connection("webhooks.backlog").await?;
        outbox::backlog(&mut conn).await
    }
    .await;
    if let Ok(backlog) = sampled {
        let now = Utc::now();
        let since =
            |at: Option<chrono::DateTime<Utc>>| at.map_or(0, |at| (now - at).num_seconds().max(0));
        metrics.webhooks.backlog.set(backlog.pending);
        metrics
            .webhooks
            .oldest_pending_seconds
            .set(since(backlog.oldest_queued));
        metrics
            .webhooks
            .overdue_seconds
            .set(since(backlog.oldest_due));
    }
}
