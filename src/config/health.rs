//! How the destination checker watches links' destinations.

use std::time::Duration;

use clap::Args;

use shortener_service::destination_health::HealthSettings;

/// Destination health checks.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Seconds between two checks of a watched destination; 0 turns the checks off (every
    /// link's `destination` then stays as last checked).
    #[arg(long, env = "HEALTH_CHECK_INTERVAL_SECS", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(0..=604_800))]
    pub health_check_interval_secs: u64,
    /// Links clicked in this many days are watched; the others are not checked.
    #[arg(long, env = "HEALTH_CHECK_ACTIVE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub health_check_active_days: u32,
    /// Seconds before a failing destination is checked again (at most the interval), so
    /// one that is down is known sooner than after several intervals.
    #[arg(long, env = "HEALTH_CHECK_RETRY_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub health_check_retry_secs: u64,
    /// Failed checks in a row that make a destination down (its visitors then go to its
    /// link's `expired_url`, when it has one).
    #[arg(long, env = "HEALTH_CHECK_DOWN_AFTER", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub health_check_down_after: u32,
    /// Longest one check request may take, connection included, in milliseconds.
    #[arg(long, env = "HEALTH_CHECK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub health_check_timeout_ms: u64,
    /// Checks in flight on one replica at most.
    #[arg(long, env = "HEALTH_CHECK_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub health_check_concurrency: u16,
    /// Checks in flight to one destination host on one replica at most.
    #[arg(long, env = "HEALTH_CHECK_PER_HOST", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub health_check_per_host: u16,
}

impl HealthArgs {
    /// The checker's settings; internal destinations only with `allow_private_targets`.
    pub fn settings(&self, allow_private_targets: bool) -> HealthSettings {
        let interval = Duration::from_secs(self.health_check_interval_secs);
        HealthSettings {
            interval,
            active_days: self.health_check_active_days,
            retry_interval: Duration::from_secs(self.health_check_retry_secs),
            down_after: self.health_check_down_after,
            timeout: Duration::from_millis(self.health_check_timeout_ms),
            concurrency: usize::from(self.health_check_concurrency),
            per_host: usize::from(self.health_check_per_host),
            poll_interval: interval.clamp(Duration::from_secs(1), Duration::from_secs(5)),
            allow_private_targets,
            ..HealthSettings::default()
        }
    }
}
