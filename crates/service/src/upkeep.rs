//! The data upkeep task of a replica: keeps the click partitions of `events` ahead of
//! time, applies the click retention and forgets old click batch ids, once at start and
//! then every hour. Every replica runs it; an advisory lock lets one at a time do the
//! work.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use shortener_metrics::Metrics;
use shortener_store::{Db, clicks, upkeep};

/// How often the upkeep runs.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// What the upkeep applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpkeepSettings {
    /// Raw click events older than this are removed, whole months at a time; `None`
    /// keeps them for good (`CLICK_RETENTION_DAYS=0`). Rollups are always kept.
    pub click_retention: Option<chrono::Duration>,
}

/// Runs the upkeep now, then every [`INTERVAL`], until `stop` is cancelled.
pub async fn run(db: Db, settings: UpkeepSettings, metrics: Metrics, stop: CancellationToken) {
    loop {
        run_once(&db, settings, &metrics).await;
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

/// One upkeep run; failures are logged and counted, and the next run retries.
pub async fn run_once(db: &Db, settings: UpkeepSettings, metrics: &Metrics) {
    let cutoff = settings.click_retention.map(|keep| Utc::now() - keep);
    let result = async {
        let mut conn = db.connection("upkeep.events").await?;
        let report = upkeep::upkeep(&mut conn, cutoff).await?;
        if report.is_some()
            && let Err(error) = forget_click_batches(&mut conn).await
        {
            // The replica whose upkeep took this round's turn (its lock went with its
            // commit) also forgets old batch ids: idempotent deletes, so a second replica
            // doing the same would only repeat work. A failure leaves the round's report
            // standing; the next round retries.
            tracing::warn!(%error, "forgetting old click batch ids failed; retried at the next run");
        }
        Ok::<_, sqlx::Error>(report)
    }
    .await;
    let outcome = match result {
        Ok(Some(report)) => {
            metrics
                .clicks_expired
                .inc_by(report.clicks_expired.unsigned_abs());
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
