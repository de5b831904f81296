//! The click fold task of a replica: about once a second it adds the click deltas the
//! writers committed to the rollups (`shortener_store::rollups`). Every replica runs it;
//! an advisory lock lets one at a time do the work, and the others skip their turn.

use std::time::Duration;

use chrono::Utc;

use tokio_util::sync::CancellationToken;

use shortener_metrics::Metrics;
use shortener_store::Db;
use shortener_store::rollups::{self, Folded, Turn};

/// How often the fold runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldSettings {
    /// Between two folds (`CLICK_FOLD_INTERVAL_MS`). Longer folds more clicks of a link
    /// into one upsert; pending clicks are in every total meanwhile, so it changes the
    /// cost, never a figure.
    pub interval: Duration,
}

impl Default for FoldSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
        }
    }
}

/// Delta rows one fold takes at most: one short transaction even after an outage's
/// backlog, which the next folds take at once, without waiting for the interval.
const FOLD_ROWS: i32 = 100_000;

/// Folds every `interval` until `stop` is cancelled.
pub async fn run(db: Db, settings: FoldSettings, metrics: Metrics, stop: CancellationToken) {
    loop {
        let full = matches!(fold_once(&db, &metrics).await, Some(folded) if folded.rows >= i64::from(FOLD_ROWS));
        if full {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// One fold turn, skipped when another replica is folding; failures are logged and
/// counted, and the next turn retries (the deltas wait in the table).
async fn fold_once(db: &Db, metrics: &Metrics) -> Option<Folded> {
    let result = async {
        let mut conn = db.connection("clicks.fold").await?;
        rollups::fold(&mut conn, FOLD_ROWS, Turn::Try).await
    }
    .await;
    let (outcome, folded) = match result {
        Ok(Some(folded)) => {
            record_success(metrics, folded);
            ("done", Some(folded))
        }
        Ok(None) => ("skipped", None),
        Err(error) => {
            tracing::warn!(%error, "folding click deltas into the rollups failed; retried at the next turn");
            ("failed", None)
        }
    };
    metrics.click_folds.with_label_values(&[outcome]).inc();
    folded
}

/// Folds every delta committed so far, waiting for a fold in progress elsewhere: for a
/// caller that reads the folded rollups alone (the erasure).
pub async fn fold_all(db: &Db, metrics: &Metrics) -> Result<(), sqlx::Error> {
    let mut conn = db.connection("clicks.fold").await?;
    loop {
        let folded = rollups::fold(&mut conn, FOLD_ROWS, Turn::Wait)
            .await?
            .unwrap_or_default();
        record_success(metrics, folded);
        metrics.click_folds.with_label_values(&["done"]).inc();
        if folded.rows < i64::from(FOLD_ROWS) {
            return Ok(());
        }
    }
}

fn record_success(metrics: &Metrics, folded: Folded) {
    metrics.clicks_folded.inc_by(folded.clicks.unsigned_abs());
    metrics.click_fold_last_success.set(Utc::now().timestamp());
}
