//! The raw click events of one link, a page at a time in id order, for the CSV export:
//! each page is one short statement on the `(url_id, id)` index, within the month
//! partitions of the range, so a download of any length holds no connection between
//! pages and no more than a page in memory.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use shortener_domain::Event;

/// The next `limit` click events of the link after event `after_id` (0: from the first),
/// with a timestamp in `[from, until)`, in id order.
pub async fn page(
    conn: &mut PgConnection,
    url_id: i64,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    after_id: i64,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as!(
        Event,
        r#"SELECT id AS "id!", url_id AS "url_id!", user_id, event_type AS "event_type!",
                  timestamp AS "timestamp!", details AS "details!", actor
           FROM events_clicks
           WHERE url_id = $1 AND id > $2 AND timestamp >= $3 AND timestamp < $4
           ORDER BY id
           LIMIT $5"#,
        url_id,
        after_id,
        from,
        until,
        limit,
    )
    .fetch_all(conn)
    .await
}
