//! The `link_visits` table: the human visits a capped link has used, counted under the
//! row's lock so that concurrent visits on every replica never pass the cap.

use sqlx::PgConnection;

use crate::urls::Changed;

/// Counts the link's visits from zero from now on, unless they are counted already (a cap
/// changed, not newly set).
pub async fn start_counting(conn: &mut PgConnection, url_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO link_visits (url_id) VALUES ($1) ON CONFLICT (url_id) DO NOTHING",
        url_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the link's count (its cap was removed).
pub async fn stop_counting(conn: &mut PgConnection, url_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM link_visits WHERE url_id = $1", url_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// What counting some visits of a capped link came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    /// How many of the visits asked for got through (the first ones).
    pub granted: i32,
    /// The visits left under the cap after them.
    pub left: i32,
    /// The `link.visits_exhausted` deliveries queued, when these used the last visit.
    pub queued: Option<i64>,
}

/// Uses up to `wanted` of a live capped link's visits at once, as many as are left. The
/// row's lock orders concurrent callers (every replica's); each reads the count the one
/// before it left (`FOR UPDATE` re-reads the row in Read Committed), so the visits granted
/// over all calls never pass `max_visits`. The call that uses the last visit queues the
/// link's `link.visits_exhausted` webhooks in the same statement: one call only, and
/// never without its visits counted. `None`: none left, or no such capped link.
pub async fn use_some(
    conn: &mut PgConnection,
    url_id: i64,
    wanted: i32,
) -> Result<Option<Used>, sqlx::Error> {
    sqlx::query_as!(
        Used,
        r#"WITH current AS (
               SELECT v.used, u.max_visits
               FROM link_visits v JOIN urls u ON u.id = v.url_id
               WHERE v.url_id = $1 AND u.deleted_at IS NULL
               FOR UPDATE OF v),
           counted AS (
               UPDATE link_visits v SET used = LEAST(c.max_visits, c.used + $2)
               FROM current c
               WHERE v.url_id = $1 AND c.used < c.max_visits
               RETURNING v.used - c.used AS granted, c.max_visits - v.used AS left_over)
           SELECT granted AS "granted!", left_over AS "left!",
                  CASE WHEN left_over = 0
                       THEN enqueue_link_event($1, 'link.visits_exhausted', NULL) END AS queued
           FROM counted"#,
        url_id,
        wanted,
    )
    .fetch_optional(conn)
    .await
}

/// Moves a link's version once its last visit is used, so that every replica's cached
/// copy (which says visits are left) is outdated and read again. A statement of its own,
/// after [`use_some`]'s: it locks the `urls` row, which an edit holds while it changes the
/// link's count, and the two in one transaction could wait for each other.
pub async fn announce_used_up(
    conn: &mut PgConnection,
    url_id: i64,
) -> Result<Option<Changed>, sqlx::Error> {
    sqlx::query_as!(
        Changed,
        "UPDATE urls SET version = nextval('link_versions') \
         WHERE id = $1 AND deleted_at IS NULL RETURNING short_code, version",
        url_id
    )
    .fetch_optional(conn)
    .await
}
