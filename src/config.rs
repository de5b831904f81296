//! Command-line flags and their environment variables: `--help` is the reference.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use sqlx::postgres::PgConnectOptions;

use crate::db::PoolSettings;

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
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    Migrate(DatabaseArgs),
    /// Import users.csv, urls.csv and events.csv from a folder (idempotent); print counts.
    Seed(SeedArgs),
    /// Exit 0 when the service's readiness URL answers 200 (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Write a deterministic seed set in the platform's CSV format.
    GenerateSeed(GenerateSeedArgs),
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
    /// Redis for the shared redirect cache (redis:// or rediss://). Validated but not yet used:
    /// this build has no cache tier, so unset and set behave alike.
    #[arg(long, env = "REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<String>,
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
    /// After the listener closes, how long in-flight requests may take to finish, in seconds.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// How to reach Postgres.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/shortener", value_parser = parse_database_url, hide_env_values = true)]
    pub database_url: DatabaseUrl,
    /// Largest number of pooled connections per process.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: u32,
    /// Connections kept open when idle.
    #[arg(long, env = "DB_MIN_CONNECTIONS", default_value_t = 1)]
    pub db_min_connections: u32,
    /// How long a request waits for a pooled connection before answering 503, in milliseconds.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 1000)]
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
