//! How the webhook worker delivers, and how long finished deliveries are kept.

use std::num::NonZeroU32;
use std::time::Duration;

use clap::Args;

use shortener_service::webhook_delivery::WebhookSettings;

/// Webhook deliveries.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// How often an idle replica looks for due webhook deliveries, in milliseconds.
    #[arg(long, env = "WEBHOOK_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub webhook_poll_ms: u64,
    /// Webhook attempts in flight on one replica at most.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_concurrency: u16,
    /// Webhook attempts one replica sends one receiver host per second at most (as many at
    /// once); a delivery over it waits its turn without counting an attempt.
    #[arg(long, env = "WEBHOOK_RATE_PER_DESTINATION", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_rate_per_destination: u32,
    /// Longest one webhook attempt may take, connection included, in milliseconds; a
    /// timeout is a failed attempt, tried again on the retry schedule.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub webhook_timeout_ms: u64,
    /// Deliveries in a row that use up every attempt (8 over about 27 hours) before a
    /// subscription is turned off; its owner sees why and turns it back on.
    #[arg(long, env = "WEBHOOK_DISABLE_AFTER", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_disable_after: u16,
    /// Days a delivered or failed delivery is kept (listed under its subscription) before
    /// the upkeep removes it; waiting ones are always kept.
    #[arg(long, env = "WEBHOOK_RETENTION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub webhook_retention_days: u32,
}

impl WebhookArgs {
    /// The worker's settings; internal receivers only with `allow_private_targets`.
    pub fn settings(&self, allow_private_targets: bool) -> WebhookSettings {
        WebhookSettings {
            poll_interval: Duration::from_millis(self.webhook_poll_ms),
            concurrency: usize::from(self.webhook_concurrency),
            rate_per_destination: NonZeroU32::new(self.webhook_rate_per_destination)
                .unwrap_or(NonZeroU32::MIN),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            disable_after: i32::from(self.webhook_disable_after),
            allow_private_targets,
            ..WebhookSettings::default()
        }
    }

    /// How long finished deliveries are kept.
    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.webhook_retention_days))
    }
}
