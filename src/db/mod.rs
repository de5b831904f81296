//! Postgres access: the pool and its timed handle, embedded migrations, the rows, and one
//! module of statements per table. Below the service layer; uses only `domain` and `metrics`.

pub mod bulk;
pub mod cache_state;
pub mod clicks;
pub mod counts;
pub mod events;
mod failure;
mod handle;
pub mod sequences;
pub mod stats;
pub mod upkeep;
pub mod urls;
pub mod users;

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};

use crate::domain::Page;
pub use failure::DbFailure;
pub use handle::{Db, Timed};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The schema migrations under `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

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

/// A row a list pages through by its id.
pub trait Keyed {
    fn key(&self) -> i64;
}

impl Keyed for urls::LinkRow {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for events::EventRow {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for users::UserRow {
    fn key(&self) -> i64 {
        self.id
    }
}

/// One page of a filtered list in id order. `filtered` is a `SELECT` of the row's columns
/// followed by `FROM … WHERE …` with the filter; a cursor page reads only the rows after
/// its id, through the index the filter's `(…, id)` order provides.
pub(crate) async fn page_of<T>(
    conn: &mut PgConnection,
    mut filtered: QueryBuilder<'_, Postgres>,
    page: Page,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    if let Some(after) = page.after() {
        filtered.push(" AND id > ").push_bind(after);
    }
    filtered
        .push(" ORDER BY id LIMIT ")
        .push_bind(page.limit())
        .push(" OFFSET ")
        .push_bind(page.offset());
    filtered.build_query_as().fetch_all(conn).await
}

/// The `application_name` of a replica process's connections: the writes it announces for
/// cache invalidation carry it, so listeners tell this process's writes from other
/// replicas' and from anyone else's. A random suffix keeps it unique even when two
/// replicas share a `REPLICA_NAME`; it stays within Postgres's 63 bytes.
pub fn replica_application_name(replica: &str) -> String {
    let replica: String = replica.chars().filter(char::is_ascii).take(32).collect();
    let suffix = nanoid::nanoid!(8);
    format!("{REPLICA_APPLICATION_PREFIX}{replica}:{suffix}")
}

/// What every replica's `application_name` starts with.
pub const REPLICA_APPLICATION_PREFIX: &str = "shortener-replica:";

/// Answers whether the database accepts a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Applies every pending embedded migration.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Whether every embedded migration has been applied successfully.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let Some(latest) = MIGRATOR.iter().map(|m| m.version).max() else {
        return Ok(true);
    };
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .or_else(|error| match &error {
                // The bookkeeping table does not exist yet: nothing is applied.
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(None),
                _ => Err(error),
            })?;
    Ok(applied.is_some_and(|version| version >= latest))
}
