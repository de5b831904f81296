//! Upkeep of the data: click partitions of `events` created ahead of time, raw click
//! events expired by retention (through the SQL functions of migration `20261202000001`),
//! and planner statistics refreshed after bulk loads.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use super::sequences::Table;

/// Months of click partitions kept ready ahead of the current one.
pub const MONTHS_AHEAD: i32 = 2;

/// What one upkeep run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpkeepReport {
    /// Click partitions created.
    pub partitions_created: i32,
    /// Raw click events removed.
    pub clicks_expired: i64,
}

/// Creates the missing click partitions and, with a cutoff, removes the raw clicks older
/// than it, in one transaction. `None` when another session is doing the same (a
/// transaction-scoped advisory lock lets one replica at a time run it). The DDL waits at
/// most half a second for its locks, so it never holds up the click writers queued
/// behind it for longer; a run that times out fails and is retried at the next.
pub async fn upkeep(
    conn: &mut PgConnection,
    expire_clicks_before: Option<DateTime<Utc>>,
) -> Result<Option<UpkeepReport>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtext('shortener.events_upkeep')) AS "locked!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if !locked {
        return Ok(None);
    }
    sqlx::query!("SET LOCAL lock_timeout = '500ms'")
        .execute(&mut *tx)
        .await?;
    let partitions_created = sqlx::query_scalar!(
        r#"SELECT events_maintain_partitions($1) AS "created!""#,
        MONTHS_AHEAD
    )
    .fetch_one(&mut *tx)
    .await?;
    let clicks_expired = match expire_clicks_before {
        Some(cutoff) => {
            sqlx::query_scalar!(r#"SELECT events_expire_clicks($1) AS "expired!""#, cutoff)
                .fetch_one(&mut *tx)
                .await?
        }
        None => 0,
    };
    tx.commit().await?;
    Ok(Some(UpkeepReport {
        partitions_created,
        clicks_expired,
    }))
}

/// Refreshes the planner's statistics of a table a bulk load filled (autovacuum would,
/// but only after its thresholds, and never for the partitioned parent of `events`).
pub async fn analyze(conn: &mut PgConnection, table: Table) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("ANALYZE {}", table.name()))
        .execute(conn)
        .await
        .map(|_| ())
}
