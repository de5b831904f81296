//! Batched click writes: the events and the per-link counters in one transaction.

use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::domain::Click;

/// Adds the clicks to their links' counters and inserts them as `click` events
/// attributed to each link's owner, in one transaction. Returns how many were stored:
/// the clicks of a link whose row no longer exists (removed by hand or by a restore) are
/// left out, and the caller counts them. Events get their ids in the order of `clicks`.
///
/// Locks: the counter rows are locked first, in id order, `FOR NO KEY UPDATE`. That
/// strength conflicts only with another counter update (which takes the rows in the same
/// order, so two writers queue and never deadlock), not with the `FOR KEY SHARE` that the
/// events' foreign key takes on the same rows. Taking the rows `FOR UPDATE` after the
/// inserts (as before) deadlocked the writers of two replicas on the same hot links.
pub async fn insert_batch(conn: &mut PgConnection, clicks: &[Click]) -> Result<u64, sqlx::Error> {
    let url_ids: Vec<i64> = clicks.iter().map(|c| c.url_id).collect();
    let timestamps: Vec<_> = clicks.iter().map(|c| c.at).collect();
    let details: Vec<_> = clicks
        .iter()
        .map(|c| json!({"referrer": c.referrer, "user_agent": c.user_agent}))
        .collect();
    let mut tx = conn.begin().await?;
    sqlx::query!(
        "WITH c AS (SELECT url_id, count(*) AS clicks, max(ts) AS last_click \
                    FROM UNNEST($1::bigint[], $2::timestamptz[]) AS c(url_id, ts) GROUP BY url_id), \
              locked AS (SELECT u.id FROM urls u JOIN c ON c.url_id = u.id \
                         ORDER BY u.id FOR NO KEY UPDATE OF u) \
         UPDATE urls SET click_count = urls.click_count + c.clicks, \
                         last_click_at = GREATEST(urls.last_click_at, c.last_click) \
         FROM c WHERE urls.id = c.url_id AND urls.id IN (SELECT id FROM locked)",
        &url_ids,
        &timestamps,
    )
    .execute(&mut *tx)
    .await?;
    let stored = sqlx::query!(
        "INSERT INTO events (url_id, user_id, event_type, timestamp, details) \
         SELECT c.url_id, u.user_id, 'click', c.ts, c.details \
         FROM UNNEST($1::bigint[], $2::timestamptz[], $3::jsonb[]) \
              WITH ORDINALITY AS c(url_id, ts, details, position) \
         JOIN urls u ON u.id = c.url_id \
         ORDER BY c.position",
        &url_ids,
        &timestamps,
        &details,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(stored)
}

/// Recomputes every link's counters from its `click` events (after an import wrote
/// events directly).
pub async fn recount(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE urls u SET click_count = COALESCE(c.clicks, 0), last_click_at = c.last_click \
         FROM urls l LEFT JOIN (SELECT url_id, count(*) AS clicks, max(timestamp) AS last_click \
                                FROM events WHERE event_type = 'click' GROUP BY url_id) c \
              ON c.url_id = l.id \
         WHERE u.id = l.id \
           AND (u.click_count, u.last_click_at) IS DISTINCT FROM (COALESCE(c.clicks, 0), c.last_click)",
    )
    .execute(conn)
    .await
    .map(|_| ())
}
