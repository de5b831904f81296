//! The connection pool: how it is sized and bounded in time, how its connections are
//! named, and what it reports for the pool gauges.

use std::fmt;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use shortener_metrics::PoolSample;

/// How the connection pool is sized and bounded in time.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
}

/// Builds the pool lazily: no connection is made until first use, so start-up can
/// report an unreachable database in one clear line via [`ping`].
pub fn pool(options: PgConnectOptions, settings: &PoolSettings) -> PgPool {
    let statement_timeout_ms = settings.statement_timeout.as_millis().to_string();
    let options = options.options([("statement_timeout", statement_timeout_ms.as_str())]);
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options)
}

/// Where a database is, for logs and messages: host, port and database only (the URL
/// may hold a password).
pub struct DatabaseLocation<'a>(pub &'a PgConnectOptions);

impl fmt::Display for DatabaseLocation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.0;
        write!(
            f,
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        )
    }
}

/// What every replica's `application_name` starts with.
pub const REPLICA_APPLICATION_PREFIX: &str = "shortener-replica:";

/// The `application_name` of a replica process's connections: the writes it announces for
/// cache invalidation carry it, so listeners tell this process's writes from other
/// replicas' and from anyone else's. A random suffix keeps it unique even when two
/// replicas share a `REPLICA_NAME`; it stays within Postgres's 63 bytes.
pub fn replica_application_name(replica: &str) -> String {
    let replica: String = replica.chars().filter(char::is_ascii).take(32).collect();
    let suffix = shortener_domain::random::secret(8);
    format!("{REPLICA_APPLICATION_PREFIX}{replica}:{suffix}")
}

/// The pool's size, idle connections and bound, for the pool gauges.
pub fn pool_sample(pool: &PgPool) -> PoolSample {
    PoolSample {
        size: pool.size(),
        idle: pool.num_idle(),
        max: pool.options().get_max_connections(),
    }
}

/// Answers whether the database accepts a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
