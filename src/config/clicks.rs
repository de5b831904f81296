//! Settings of the click pipeline and of the raw clicks' retention.

use std::time::Duration;

use clap::Args;

use shortener_clicks::ClickSettings;
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
}

impl ClickArgs {
    /// The pipeline settings these flags describe.
    pub fn settings(&self) -> ClickSettings {
        let capacity = usize::try_from(self.click_queue_capacity).unwrap_or(usize::MAX);
        ClickSettings {
            capacity,
            max_batch: usize::try_from(self.click_batch_max)
                .unwrap_or(usize::MAX)
                .min(capacity / 2)
                .max(1),
            flush_interval: Duration::from_millis(self.click_flush_interval_ms),
        }
    }

    /// The data upkeep these flags describe.
    pub fn upkeep(&self) -> UpkeepSettings {
        UpkeepSettings {
            click_retention: (self.click_retention_days > 0)
                .then(|| chrono::Duration::days(i64::from(self.click_retention_days))),
        }
    }
}
