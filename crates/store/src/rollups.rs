//! The fold of pending click deltas into the rollups (migration `20261207000004`): the
//! click writer appends one delta per link, owner, day and referrer of each batch, and a
//! fold adds them to the counters, days, referrers and list totals and deletes them, in
//! one transaction, so each counts once. Reads add what is pending (the `*_now` views).

use sqlx::{Connection, PgConnection};

/// What one fold moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Folded {
    /// Delta rows folded.
    pub rows: i64,
    /// Clicks they held.
    pub clicks: i64,
}

/// Whether a fold waits for another session's fold to end or leaves the turn to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Skip when another session is folding (the periodic fold: that one does the work).
    Try,
    /// Wait for it, then fold (a caller that needs every committed click in the rollups).
    Wait,
}

/// Folds at most `max_rows` committed deltas in one transaction under the fold's advisory
/// lock; `None` when `turn` is [`Turn::Try`] and another session holds it.
pub async fn fold(
    conn: &mut PgConnection,
    max_rows: i32,
    turn: Turn,
) -> Result<Option<Folded>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let locked =
        match turn {
            Turn::Try => sqlx::query_scalar!(
                r#"SELECT pg_try_advisory_xact_lock(hashtext('shortener.click_fold')) AS "locked!""#
            )
            .fetch_one(&mut *tx)
            .await?,
            Turn::Wait => {
                wait_for_fold_turn(&mut tx).await?;
                true
            }
        };
    if !locked {
        return Ok(None);
    }
    let folded = sqlx::query_as!(
        Folded,
        r#"SELECT rows AS "rows!", clicks AS "clicks!" FROM fold_click_deltas($1)"#,
        max_rows
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(folded))
}

/// Waits until no fold runs, and keeps the next one waiting until the transaction ends:
/// for a statement that moves counts in the rollups the fold writes, so the two never
/// lock the same rows in different orders.
pub(crate) async fn wait_for_fold_turn(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('shortener.click_fold'))")
        .execute(conn)
        .await?;
    Ok(())
}
