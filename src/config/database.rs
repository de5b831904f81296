//! Settings of the Postgres connection and its pool.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use sqlx::postgres::PgConnectOptions;

use shortener_server::DatabaseSettings;
use shortener_store::{DatabaseLocation, PoolSettings};

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
    /// Where the database is, pool sizing and timeouts.
    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            options: self.database_url.options.clone(),
            pool: PoolSettings {
                max_connections: self.db_max_connections,
                min_connections: self.db_min_connections.min(self.db_max_connections),
                acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
                statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
            },
            connect_wait: Duration::from_secs(self.db_connect_wait_secs),
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

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", DatabaseLocation(&self.options))
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
