//! Settings of the HTTP server: where it listens, how it starts and stops, and what one
//! replica is made of (the other areas' flags, flattened in).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{ArgAction, Args};

use shortener_domain::PublicBaseUrl;
use shortener_server::ServeSettings;
use shortener_server::replica::AppSettings;
use shortener_service::upkeep::UpkeepSettings;

use super::health::HealthArgs;
use super::parse_label;
use super::webhooks::WebhookArgs;
use super::{AccessArgs, DatabaseArgs, VisitorArgs, cache::CacheArgs, clicks::ClickArgs};

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8080")]
    pub listen_addr: SocketAddr,
    /// Serve `/metrics` on this separate address instead of on LISTEN_ADDR (which then
    /// answers 404 for it), so the scrape port can be kept off the public network.
    #[arg(long, env = "METRICS_LISTEN_ADDR")]
    pub metrics_listen_addr: Option<SocketAddr>,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub clicks: ClickArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub visitors: VisitorArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub health: HealthArgs,
    /// Apply pending migrations at start (true/false).
    #[arg(long, env = "RUN_MIGRATIONS", default_value_t = true, action = ArgAction::Set)]
    pub run_migrations: bool,
    /// Length of generated short codes (3 to 32 base62 characters).
    #[arg(long, env = "SHORT_CODE_LENGTH", default_value_t = 7, value_parser = clap::value_parser!(u8).range(3..=32))]
    pub short_code_length: u8,
    /// After SIGTERM, how long /ready answers 503 before the listener closes, in milliseconds
    /// (time for a load balancer to notice).
    #[arg(long, env = "SHUTDOWN_DELAY_MS", default_value_t = 0)]
    pub shutdown_delay_ms: u64,
    /// After the listener closes, how long shutdown may take, in seconds: in-flight
    /// requests finish (those still running near the end are cut off), then the queued
    /// clicks are written in what is left (what cannot be is counted as dropped).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Longest a request may run, in milliseconds, before it is answered 503 (the CSV
    /// import excepted, which Nginx gives 300 s). Bounds a request whose database or Redis
    /// stopped answering without closing the connection; keep it under the proxy's own
    /// timeout (Nginx's proxy_read_timeout, 30 s), so the client gets this JSON answer.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// The address the public reaches the service at, e.g. `https://sho.rt`: short URLs
    /// (a link's QR code) are made of it. Unset: each request's `Host`, over plain http.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// This replica's name in log lines and `shortener_build_info` (default: the host name).
    #[arg(long, env = "REPLICA_NAME", value_parser = parse_label)]
    pub replica_name: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl ServeArgs {
    /// The settings of `serve`, reading the key and blocklist files; the error is one line.
    pub fn settings(self) -> Result<ServeSettings, String> {
        let replica = self.replica();
        let (link_policy, blocklist_file) = self.access.link_policy()?;
        Ok(ServeSettings {
            listen_addr: self.listen_addr,
            metrics_listen_addr: self.metrics_listen_addr,
            database: self.database.settings(),
            run_migrations: self.run_migrations,
            shutdown_delay: Duration::from_millis(self.shutdown_delay_ms),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            app: AppSettings {
                short_code_length: usize::from(self.short_code_length),
                cache: self.cache.settings(),
                clicks: self.clicks.settings(&replica, self.visitors.origins()?),
                click_drain_deadline: Duration::from_secs(self.shutdown_grace_secs),
                replica: replica.clone(),
                upkeep: UpkeepSettings {
                    webhook_retention: self.webhooks.retention(),
                    ..self.clicks.upkeep()
                },
                fold: self.clicks.fold(),
                api_keys: self.access.api_keys()?,
                link_policy,
                blocklist_file,
                create_quota: self.access.create_quota(),
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                trusted_proxies: self.visitors.trusted_proxies()?,
                public_base_url: self
                    .public_base_url
                    .as_deref()
                    .filter(|raw| !raw.is_empty())
                    .map(PublicBaseUrl::parse)
                    .transpose()
                    .map_err(|error| error.to_string())?,
                webhooks: self.webhooks.settings(self.access.allow_private_targets),
                health: self.health.settings(self.access.allow_private_targets),
            },
        })
    }

    /// The replica name: the setting, else the host name, else `unknown`.
    fn replica(&self) -> String {
        self.replica_name.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .and_then(|name| parse_label(name.trim()).ok())
                .unwrap_or_else(|| "unknown".to_owned())
        })
    }
}
