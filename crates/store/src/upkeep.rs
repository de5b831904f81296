//! Upkeep of the data: click partitions of `events` created ahead of time (migration
//! `20261202000001`), raw click events expired by retention in bounded rounds (migration
//! `20261207000006`), and planner statistics refreshed after bulk loads.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use super::sequences::Table;

/// Months of click partitions kept ready ahead of the current one.
pub const MONTHS_AHEAD: i32 = 2;

/// Creates the missing click partitions, in one transaction; how many. `None` when
/// another session holds the upkeep's turn (a transaction-scoped advisory lock lets one
/// replica at a time run it). The DDL waits at most half a second for its locks, so it
/// never holds up the click writers queued behind it for longer; a run that times out
/// fails and is retried at the next.
pub async fn maintain_partitions(conn: &mut PgConnection) -> Result<Option<i32>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if !take_turn(&mut tx).await? {
        return Ok(None);
    }
    let created = sqlx::query_scalar!(
        r#"SELECT events_maintain_partitions($1) AS "created!""#,
        MONTHS_AHEAD
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(created))
}

/// One round of click retention (migration `20261207000006`), in its own transaction
/// under the upkeep's turn: removes at most `max_rows` raw clicks older than `cutoff`,
/// counted off their links and the list totals in the same statement; `(removed, more)`,
/// `more` when another round has work. `None` when another session holds the turn.
pub async fn expire_clicks_round(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    max_rows: i32,
) -> Result<Option<(i64, bool)>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    if !take_turn(&mut tx).await? {
        return Ok(None);
    }
    let round = sqlx::query!(
        r#"SELECT removed AS "removed!", more AS "more!"
           FROM events_expire_clicks_round($1, $2)"#,
        cutoff,
        max_rows
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((round.removed, round.more)))
}

/// Takes the upkeep's turn for the transaction, and bounds its waits for locks.
async fn take_turn(tx: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtext('shortener.events_upkeep')) AS "locked!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if locked {
        sqlx::query!("SET LOCAL lock_timeout = '500ms'")
            .execute(&mut *tx)
            .await?;
    }
    Ok(locked)
}

/// Refreshes the planner's statistics of a table a bulk load filled (autovacuum would,
/// but only after its thresholds, and never for the partitioned parent of `events`).
pub async fn analyze(conn: &mut PgConnection, table: Table) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("ANALYZE {}", table.name()))
        .execute(conn)
        .await
        .map(|_| ())
}
