//! Command-line flags and their environment variables: `--help` is the reference.

mod access;

pub use access::{AccessArgs, ApiKeyArgs, Secret};

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use sqlx::postgres::PgConnectOptions;

use crate::cache::{CacheSettings, RedisSettings};
use crate::clicks::ClickSettings;
use crate::db::PoolSettings;
use crate::upkeep::UpkeepSettings;

/// shortener: a URL-shortener service (REST API, redirects, click events, users).
#[derive(Debug, Parser)]
#[command(
    name = "shortener",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Log format: one JSON object per line, or human-readable.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations, then exit.
    Migrate(DatabaseArgs),
    /// Import users.csv, urls.csv and events.csv from a folder (idempotent); print counts.
    Seed(SeedArgs),
    /// Exit 0 when the service's readiness URL answers 200 (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Write a deterministic seed set in the platform's CSV format.
    GenerateSeed(GenerateSeedArgs),
    /// Make a new API key: prints the secret (for the client; kept nowhere) and its
    /// API_KEYS_FILE line (which holds only its SHA-256).
    ApiKey(ApiKeyArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

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
    /// This replica's name in log lines and `shortener_build_info` (default: the host name).
    #[arg(long, env = "REPLICA_NAME", value_parser = parse_label)]
    pub replica_name: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl ServeArgs {
    /// The replica name: the setting, else the host name, else `unknown`.
    pub fn replica(&self) -> String {
        self.replica_name.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .and_then(|name| parse_label(name.trim()).ok())
                .unwrap_or_else(|| "unknown".to_owned())
        })
    }
}

/// 1 to 64 characters of letters, digits, `-`, `_` and `.` (it becomes a label value).
fn parse_label(name: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err("1 to 64 letters, digits, '-', '_' or '.'".to_owned())
    }
}

/// The redirect cache: in-process tier, and the optional shared Redis tier.
#[derive(Clone, Args)]
pub struct CacheArgs {
    /// Redis for the shared redirect cache; unset: no shared tier. `rediss://` is TLS,
    /// verified against the system's roots (or the file SSL_CERT_FILE names).
    #[arg(long, env = "REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Connections to Redis per process.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub redis_pool_size: u16,
    /// How long opening a Redis connection may take, in milliseconds.
    #[arg(long, env = "REDIS_CONNECT_TIMEOUT_MS", default_value_t = 100)]
    pub redis_connect_timeout_ms: u64,
    /// How long one Redis command may take, in milliseconds. Waiting for a free pooled
    /// connection has the same bound; a wait that runs out skips Redis (load) without
    /// counting as a breaker failure.
    #[arg(long, env = "REDIS_COMMAND_TIMEOUT_MS", default_value_t = 50)]
    pub redis_command_timeout_ms: u64,
    /// Consecutive Redis failures that open the circuit breaker.
    #[arg(long, env = "REDIS_BREAKER_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub redis_breaker_failures: u32,
    /// How long the open breaker skips Redis before one probe, in milliseconds.
    #[arg(long, env = "REDIS_BREAKER_COOLDOWN_MS", default_value_t = 2000)]
    pub redis_breaker_cooldown_ms: u64,
    /// Memory bound of the in-process cache, in MiB.
    #[arg(long, env = "CACHE_LOCAL_MAX_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_local_max_mb: u64,
    /// Lifetime of a link in the in-process cache, in seconds.
    #[arg(long, env = "CACHE_LOCAL_TTL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_local_ttl_secs: u64,
    /// Lifetime of a link in Redis, in seconds: the worst-case staleness if an
    /// invalidation is lost entirely (see docs/failure-modes.md).
    #[arg(long, env = "CACHE_SHARED_TTL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_shared_ttl_secs: u64,
    /// Lifetime of an "unknown code" answer in both tiers, in seconds.
    #[arg(long, env = "CACHE_MISSING_TTL_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_missing_ttl_secs: u64,
}

impl CacheArgs {
    /// The cache settings these flags describe.
    pub fn settings(&self) -> CacheSettings {
        CacheSettings {
            local_max_bytes: self.cache_local_max_mb * 1024 * 1024,
            local_ttl: Duration::from_secs(self.cache_local_ttl_secs),
            shared_ttl: Duration::from_secs(self.cache_shared_ttl_secs),
            missing_ttl: Duration::from_secs(self.cache_missing_ttl_secs),
            redis: self.redis_url.as_ref().map(|url| RedisSettings {
                url: url.clone(),
                pool_size: usize::from(self.redis_pool_size),
                connect_timeout: Duration::from_millis(self.redis_connect_timeout_ms),
                command_timeout: Duration::from_millis(self.redis_command_timeout_ms),
                breaker_failures: self.redis_breaker_failures,
                breaker_cooldown: Duration::from_millis(self.redis_breaker_cooldown_ms),
            }),
        }
    }
}

// Hand-written so a Redis URL with a password never reaches a log.
impl fmt::Debug for CacheArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheArgs")
            .field("redis", &self.redis_url.is_some())
            .finish_non_exhaustive()
    }
}

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

/// How to reach Postgres.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres connection URL. TLS with `?sslmode=require`, or `verify-full` (add
    /// `&sslrootcert=/path/ca.pem` for a private CA).
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/shortener", value_parser = parse_database_url, hide_env_values = true)]
    pub database_url: DatabaseUrl,
    /// Largest number of pooled connections per process.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: u32,
    /// Connections kept open when idle.
    #[arg(long, env = "DB_MIN_CONNECTIONS", default_value_t = 1)]
    pub db_min_connections: u32,
    /// How long a request waits for a pooled connection before answering 503, in
    /// milliseconds. Under a second with room to spare, so that with the database down
    /// the 503 comes within a second.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 750)]
    pub db_acquire_timeout_ms: u64,
    /// Server-side statement timeout, in milliseconds.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000)]
    pub db_statement_timeout_ms: u64,
    /// How long start-up waits for the database to answer before giving up, in seconds.
    #[arg(long, env = "DB_CONNECT_WAIT_SECS", default_value_t = 5)]
    pub db_connect_wait_secs: u64,
}

impl DatabaseArgs {
    /// Pool sizing and timeouts.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            min_connections: self.db_min_connections.min(self.db_max_connections),
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
        }
    }
}

// Hand-written so the URL (which may hold a password) never reaches a log.
impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &self.database_url)
            .field("db_max_connections", &self.db_max_connections)
            .finish_non_exhaustive()
    }
}

/// A parsed Postgres URL that shows only host, port and database when printed.
#[derive(Clone)]
pub struct DatabaseUrl {
    pub options: PgConnectOptions,
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.options;
        write!(
            f,
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        )
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

fn parse_database_url(raw: &str) -> Result<DatabaseUrl, String> {
    if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
        return Err("must start with postgres:// or postgresql://".to_owned());
    }
    PgConnectOptions::from_str(raw)
        .map(|options| DatabaseUrl { options })
        .map_err(|error| format!("not a valid Postgres URL ({error})"))
}

fn parse_redis_url(raw: &str) -> Result<String, String> {
    let parsed = url::Url::parse(raw).map_err(|error| format!("not a valid URL ({error})"))?;
    match parsed.scheme() {
        "redis" | "rediss" if parsed.host_str().is_some() => Ok(raw.to_owned()),
        "redis" | "rediss" => Err("must name a host".to_owned()),
        other => Err(format!("scheme must be redis or rediss, not {other}")),
    }
}

/// Settings of `seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Folder holding users.csv, urls.csv and events.csv.
    #[arg(long, env = "SEED_DIR", default_value = "seed_data")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Settings of `healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The readiness URL to ask (plain http).
    #[arg(
        long,
        env = "HEALTHCHECK_URL",
        default_value = "http://127.0.0.1:8080/ready"
    )]
    pub url: url::Url,
    /// How long to wait for the answer, in milliseconds.
    #[arg(long, env = "HEALTHCHECK_TIMEOUT_MS", default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// Settings of `generate-seed`.
#[derive(Debug, Clone, Args)]
pub struct GenerateSeedArgs {
    /// Folder to write users.csv, urls.csv and events.csv into.
    #[arg(long, default_value = "seed_data")]
    pub out: PathBuf,
    /// Number of users.
    #[arg(long, default_value_t = 400)]
    pub users: u32,
    /// Number of links.
    #[arg(long, default_value_t = 2000)]
    pub urls: u32,
    /// Seed of the generator: the same seed writes the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}
