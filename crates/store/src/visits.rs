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

/// Uses one of a live capped link's visits, if one is left: then `Some` of how many are
/// left after it. The row's lock orders concurrent visits; a visit that waited for
/// another checks the cap again against the row that one left (Read Committed re-reads
/// the updated row), so exactly `max_visits` visits ever get `Some`.
pub async fn use_one(conn: &mut PgConnection, url_id: i64) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE link_visits v SET used = v.used + 1
           FROM urls u
           WHERE v.url_id = $1 AND u.id = v.url_id AND u.deleted_at IS NULL
             AND v.used < u.max_visits
           RETURNING u.max_visits - v.used AS "left!""#,
        url_id
    )
    .fetch_optional(conn)
    .await
}

/// Moves a link's version once its last visit is used, so that every replica's cached
/// copy (which says visits are left) is outdated and read again. A statement of its own,
/// after [`use_one`]'s: it locks the `urls` row, which an edit holds while it changes the
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
