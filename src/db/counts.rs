//! Exact list totals, from the counters the triggers keep in `list_counts` (migration
//! `20261202000001`): a read sums at most 16 shards instead of counting the table.

use sqlx::PgConnection;

use super::events::EventFilter;
use super::urls::LinkFilter;

/// How many live links match the filter.
pub async fn links(conn: &mut PgConnection, filter: LinkFilter) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
           WHERE list = 'urls' AND filter = url_count_key($1, $2)"#,
        filter.user_id,
        filter.is_active,
    )
    .fetch_one(conn)
    .await
}

/// How many events match the filter.
pub async fn events(conn: &mut PgConnection, filter: &EventFilter) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
           WHERE list = 'events' AND filter = event_count_key($1, $2, $3)"#,
        filter.url_id,
        filter.user_id,
        filter.event_type.as_deref(),
    )
    .fetch_one(conn)
    .await
}

/// How many users are live.
pub async fn users(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
           WHERE list = 'users' AND filter = ''"#,
    )
    .fetch_one(conn)
    .await
}
