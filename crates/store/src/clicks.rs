//! Batched click writes: one statement inserts a batch as `click` events; the triggers on
//! `events` add them to the link's counters and rollups in the same transaction.

use serde_json::json;
use sqlx::PgConnection;

use shortener_domain::Click;

/// Inserts the clicks as `click` events attributed to each link's owner. Returns how
/// many were stored: the clicks of a link whose row no longer exists (removed by hand or
/// by a restore) are left out, and the caller counts them. Events get their ids in the
/// order of `clicks`.
///
/// Locks: the statement's trigger (`count_events`, migration `20261202000001`) upserts
/// the link counters, then the daily and referrer rollups, then the list totals, each
/// in key order, with no explicit row lock; the foreign key takes `FOR KEY SHARE` on
/// the `urls` rows, which no counter update touches any more. Two writers on the same
/// hot links therefore queue on the counter rows in the same order and never deadlock.
pub async fn insert_batch(conn: &mut PgConnection, clicks: &[Click]) -> Result<u64, sqlx::Error> {
    let url_ids: Vec<i64> = clicks.iter().map(|c| c.url_id).collect();
    let timestamps: Vec<_> = clicks.iter().map(|c| c.at).collect();
    let details: Vec<_> = clicks
        .iter()
        .map(|c| json!({"referrer": c.referrer, "user_agent": c.user_agent}))
        .collect();
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
    .execute(conn)
    .await?
    .rows_affected();
    Ok(stored)
}
