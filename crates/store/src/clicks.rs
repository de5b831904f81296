//! Batched click writes, exactly once: a batch's id is committed with its clicks, and a
//! batch whose id is already there is not written again. One statement inserts the clicks
//! as `click` events and their pending rollup deltas (migration `20261207000004`), which
//! [`crate::rollups::fold`] later adds to the link's counters and rollups.

use sqlx::{Connection, PgConnection};

use shortener_domain::Click;

/// What writing a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchWrite {
    /// Written now: `stored` of its clicks became events (the clicks of a link whose row
    /// no longer exists are left out, and the caller counts them).
    Written { stored: u64 },
    /// A batch with this id was committed before (a retry or a replay): nothing written.
    AlreadyWritten,
}

/// Writes the clicks of batch `id` as `click` events attributed to each link's owner, in
/// one transaction with the batch's id, unless that id was committed before. Events get
/// their ids in the order of `clicks`.
///
/// Locks: none besides the rows it inserts. The writer only appends (events, deltas and
/// the batch id), with no foreign key and no unique row shared with another batch but
/// the batch id; the rollups are upserted by the fold alone (migration
/// `20261207000004`). Writers on the same hot links therefore never wait for each other.
pub async fn write_batch(
    conn: &mut PgConnection,
    id: i64,
    clicks: &[Click],
) -> Result<BatchWrite, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let first_time = sqlx::query!(
        "INSERT INTO click_batches (id, clicks) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        id,
        i32::try_from(clicks.len()).unwrap_or(i32::MAX),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first_time {
        return Ok(BatchWrite::AlreadyWritten);
    }
    let stored = insert_events(&mut tx, clicks).await?;
    tx.commit().await?;
    Ok(BatchWrite::Written { stored })
}

/// Inserts the clicks as events, into the click partitions (the parent's counting trigger
/// is not run), and in the same statement their pending deltas, one per link, owner, day
/// and referrer of the batch, for `rollups::fold` to add to the rollups; how many clicks
/// were stored.
async fn insert_events(conn: &mut PgConnection, clicks: &[Click]) -> Result<u64, sqlx::Error> {
    let url_ids: Vec<i64> = clicks.iter().map(|c| c.url_id).collect();
    let timestamps: Vec<_> = clicks.iter().map(|c| c.at).collect();
    // Sent as text and built into `details` by Postgres: no JSON value per click here,
    // no JSON text for Postgres to parse.
    let referrers: Vec<Option<&str>> = clicks.iter().map(|c| c.referrer.as_deref()).collect();
    let user_agents: Vec<Option<&str>> = clicks.iter().map(|c| c.user_agent.as_deref()).collect();
    let stored = sqlx::query_scalar!(
        r#"WITH stored AS (
               INSERT INTO events_clicks (url_id, user_id, event_type, timestamp, details)
               SELECT c.url_id, u.user_id, 'click', c.ts,
                      jsonb_build_object('referrer', c.referrer, 'user_agent', c.user_agent)
               FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], $4::text[])
                    WITH ORDINALITY AS c(url_id, ts, referrer, user_agent, position)
               JOIN urls u ON u.id = c.url_id
               ORDER BY c.position
               RETURNING url_id, user_id, timestamp, details->>'referrer' AS referrer),
           pending AS (
               INSERT INTO click_deltas (url_id, user_id, day, referrer, clicks, last_click_at)
               SELECT url_id, user_id, (timestamp AT TIME ZONE 'UTC')::date,
                      coalesce(referrer, ''), count(*), max(timestamp)
               FROM stored GROUP BY 1, 2, 3, 4)
           SELECT count(*) AS "stored!" FROM stored"#,
        &url_ids,
        &timestamps,
        &referrers as &[Option<&str>],
        &user_agents as &[Option<&str>],
    )
    .fetch_one(conn)
    .await?;
    Ok(u64::try_from(stored).unwrap_or(0))
}

/// Forgets the batch ids committed before `cutoff`, at most `limit` of them (the upkeep
/// calls it in rounds, each a short statement); how many it deleted.
pub async fn forget_batches_before(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM click_batches WHERE id IN \
         (SELECT id FROM click_batches WHERE committed_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted)
}
