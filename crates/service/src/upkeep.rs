//! The data upkeep task of a replica: keeps the click partitions of `events` ahead of
//! time, applies the click retention, forgets old click batch ids and removes old webhook
//! deliveries, once at start and then every hour. Every replica runs it; an advisory lock
//! lets one at a time do the work. Each step is a short transaction of its own (retention goes in rounds of at most
//! [`UpkeepSettings::retention_round`] clicks), and a replica that is stopping leaves the
//! run between two of them: shutdown never waits for an upkeep run.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use shortener_metrics::Metrics;
use shortener_store::{Db, clicks, idempotency, upkeep, webhook_deliveries};

/// How often the upkeep runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// What the upkeep applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpkeepSettings {
    /// Raw click events older than this are removed, whole months at a time; `None`
    /// keeps them for good (`CLICK_RETENTION_DAYS=0`). Rollups are always kept.
    pub click_retention: Option<chrono::Duration>,
    /// Raw clicks one retention round removes at most: one statement well inside the
    /// pool's statement timeout.
    pub retention_round: i32,
    /// Delivered and failed webhook deliveries older than this are removed
    /// (`WEBHOOK_RETENTION_DAYS`); waiting ones are kept.
    pub webhook_retention: chrono::Duration,
}

impl Default for UpkeepSettings {
    fn default() -> Self {
        Self {
            click_retention: None,
            retention_round: 10_000,
            webhook_retention: chrono::Duration::days(7),
        }
    }
}

/// Runs the upkeep now, then every [`INTERVAL`], until `stop` is cancelled, which ends a
/// run in progress at once: each of its steps is a transaction complete on its own, and
/// one cut short rolls back.
pub async fn run(db: Db, settings: UpkeepSettings, metrics: Metrics, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = run_once(&db, settings, &metrics) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// How long a committed click batch's id is remembered: a retry or a spill replay of the
/// batch within it is recognised and written no second time (docs/failure-modes.md).
pub const CLICK_BATCH_MEMORY: chrono::Duration = chrono::Duration::hours(24);

/// Batch ids forgotten per statement: each round is short, and the writers never wait
/// for a long one.
const FORGET_ROUND: i64 = 10_000;

/// Forgets the click batch ids older than [`CLICK_BATCH_MEMORY`], in short rounds.
async fn forget_click_batches(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let cutoff = Utc::now() - CLICK_BATCH_MEMORY;
    while clicks::forget_batches_before(conn, cutoff, FORGET_ROUND).await? == FORGET_ROUND as u64 {}
    Ok(())
}

/// Forgets the idempotency keys older than a day (`POST /urls/bulk` keeps them 24 hours),
/// in short rounds.
async fn forget_idempotency_keys(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let cutoff = Utc::now() - chrono::Duration::hours(crate::bulk_links::IDEMPOTENCY_HOURS);
    while idempotency::forget_before(conn, cutoff, FORGET_ROUND).await? == FORGET_ROUND as u64 {}
    Ok(())
}

/// Removes the finished webhook deliveries older than the retention, in short rounds.
async fn prune_webhook_deliveries(
    conn: &mut sqlx::PgConnection,
    retention: chrono::Duration,
) -> Result<(), sqlx::Error> {
    let cutoff = Utc::now() - retention;
    while webhook_deliveries::prune_finished_before(conn, cutoff, FORGET_ROUND).await?
        == FORGET_ROUND as u64
    {}
    Ok(())
}

/// What one upkeep run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Report {
    partitions_created: i32,
    clicks_expired: i64,
}

/// One upkeep run; failures are logged and counted (`shortener_upkeep_runs_total`,
/// outcome `failed`, which alerts), and the next run retries.
pub async fn run_once(db: &Db, settings: UpkeepSettings, metrics: &Metrics) {
    let result = async {
        let mut conn = db.connection("upkeep.events").await?;
        let Some(partitions_created) = upkeep::maintain_partitions(&mut conn).await? else {
            return Ok(None);
        };
        let mut report = Report {
            partitions_created,
            clicks_expired: 0,
        };
        if let Some(keep) = settings.click_retention {
            let cutoff = Utc::now() - keep;
            while let Some((removed, more)) =
                upkeep::expire_clicks_round(&mut conn, cutoff, settings.retention_round).await?
            {
                report.clicks_expired += removed;
                metrics.clicks_expired.inc_by(removed.unsigned_abs());
                if !more {
                    break;
                }
            }
        }
        if let Err(error) = forget_click_batches(&mut conn).await {
            // The replica whose upkeep took this round's turn also forgets old batch ids:
            // idempotent deletes, so a second replica doing the same would only repeat
            // work. A failure leaves the round's report standing; the next round retries.
            tracing::warn!(%error, "forgetting old click batch ids failed; retried at the next run");
        }
        if let Err(error) = forget_idempotency_keys(&mut conn).await {
            tracing::warn!(%error, "forgetting old idempotency keys failed; retried at the next run");
        }
        if let Err(error) = prune_webhook_deliveries(&mut conn, settings.webhook_retention).await {
            tracing::warn!(%error, "removing old webhook deliveries failed; retried at the next run");
        }
        Ok::<_, sqlx::Error>(Some(report))
    }
    .await;
    let outcome = match result {
        Ok(Some(report)) => {
            if report.partitions_created > 0 || report.clicks_expired > 0 {
                tracing::info!(
                    partitions_created = report.partitions_created,
                    clicks_expired = report.clicks_expired,
                    "data upkeep done"
                );
            }
            "done"
        }
        Ok(None) => "skipped",
        Err(error) => {
            tracing::warn!(%error, "data upkeep failed; retried at the next run");
            "failed"
        }
    };
    metrics.upkeep_runs.with_label_values(&[outcome]).inc();
}
