//! Settings of the click pipeline and of the raw clicks' retention.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use shortener_clicks::{ClickSettings, OriginSettings, SpillSettings};
use shortener_service::rollups::FoldSettings;
use shortener_service::upkeep::UpkeepSettings;

/// The click pipeline.
#[derive(Debug, Clone, Args)]
pub struct ClickArgs {
    /// Clicks held in memory awaiting their write; beyond it new clicks are dropped (and counted).
    #[arg(long, env = "CLICK_QUEUE_CAPACITY", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(2..))]
    pub click_queue_capacity: u64,
    /// Largest batch of clicks written in one transaction.
    #[arg(long, env = "CLICK_BATCH_MAX", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub click_batch_max: u64,
    /// Longest a click waits before its batch is written, in milliseconds.
    #[arg(long, env = "CLICK_FLUSH_INTERVAL_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub click_flush_interval_ms: u64,
    /// Days raw click events are kept, removed a whole month at a time once the month is
    /// older than this; 0 keeps them for good. Per-link totals, daily and referrer
    /// rollups are kept regardless.
    #[arg(long, env = "CLICK_RETENTION_DAYS", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub click_retention_days: u32,
    /// A directory on local disk for the clicks Postgres cannot take in time (unreachable,
    /// or behind): they are appended there and replayed, in order, when it answers, and at
    /// the next start after a shutdown that could not write them (docs/failure-modes.md).
    /// Each replica keeps a subdirectory named after REPLICA_NAME, and adopts those of
    /// replicas that are gone, so replicas may share it (one volume per host). Unset: no
    /// spill, and such clicks wait in memory, dropped past CLICK_QUEUE_CAPACITY and lost at
    /// shutdown (counted).
    #[arg(long, env = "CLICK_SPILL_DIR", value_parser = parse_spill_dir)]
    pub click_spill_dir: Option<PathBuf>,
    /// Largest size of the spill on disk, in MiB; past it, clicks are dropped (counted in
    /// shortener_click_spill_dropped_total).
    #[arg(long, env = "CLICK_SPILL_MAX_MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub click_spill_max_mb: u64,
    /// Milliseconds between two folds of the written clicks' deltas into the rollups
    /// (one replica at a time folds). Longer sums more clicks of a link into one rollup
    /// update; the totals read count pending clicks meanwhile, so it changes the cost of
    /// the writes, never a figure.
    #[arg(long, env = "CLICK_FOLD_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub click_fold_interval_ms: u64,
}

/// A directory; an empty value is refused (no spill is CLICK_SPILL_DIR unset).
fn parse_spill_dir(raw: &str) -> Result<PathBuf, String> {
    if raw.trim().is_empty() {
        Err("must name a directory (leave CLICK_SPILL_DIR unset for no spill)".to_owned())
    } else {
        Ok(PathBuf::from(raw))
    }
}

impl ClickArgs {
    /// The pipeline settings these flags describe, for the replica named `replica`, which
    /// places clicks with `origins`.
    pub fn settings(&self, replica: &str, origins: OriginSettings) -> ClickSettings {
        let capacity = usize::try_from(self.click_queue_capacity).unwrap_or(usize::MAX);
        ClickSettings {
            capacity,
            max_batch: usize::try_from(self.click_batch_max)
                .unwrap_or(usize::MAX)
                .min(capacity / 2)
                .max(1),
            flush_interval: Duration::from_millis(self.click_flush_interval_ms),
            spill: self.click_spill_dir.as_ref().map(|dir| SpillSettings {
                dir: dir.clone(),
                replica: replica.to_owned(),
                max_bytes: self.click_spill_max_mb * 1024 * 1024,
            }),
            origins,
        }
    }

    /// The click fold these flags describe.
    pub fn fold(&self) -> FoldSettings {
        FoldSettings {
            interval: Duration::from_millis(self.click_fold_interval_ms),
        }
    }

    /// The data upkeep these flags describe.
    pub fn upkeep(&self) -> UpkeepSettings {
        UpkeepSettings {
            click_retention: (self.click_retention_days > 0)
                .then(|| chrono::Duration::days(i64::from(self.click_retention_days))),
            ..UpkeepSettings::default()
        }
    }
}
