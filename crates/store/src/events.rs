//! The `events` table: the append-only audit trail of links (created, updated, deleted, click, …).

use serde_json::Value;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use shortener_domain::{Event, EventFilter, Page};

/// An event to append; its timestamp is the database's `now()`.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: &'a str,
    pub details: Value,
}

/// Appends one event.
pub async fn insert(conn: &mut PgConnection, event: NewEvent<'_>) -> Result<Event, sqlx::Error> {
    sqlx::query_as!(
        Event,
        "INSERT INTO events (url_id, user_id, event_type, details) VALUES ($1, $2, $3, $4) \
         RETURNING id, url_id, user_id, event_type, timestamp, details",
        event.url_id,
        event.user_id,
        event.event_type,
        event.details,
    )
    .fetch_one(conn)
    .await
}

/// One page of events in id order, and how many match the filter. The type picks the
/// partition (clicks, or the rest of the trail); link and user have `(…, id)` indexes.
pub async fn list(
    conn: &mut PgConnection,
    filter: &EventFilter,
    page: Page,
) -> Result<(Vec<Event>, i64), sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT id, url_id, user_id, event_type, timestamp, details FROM events WHERE TRUE",
    );
    if let Some(url_id) = filter.url_id {
        query.push(" AND url_id = ").push_bind(url_id);
    }
    if let Some(user_id) = filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    if let Some(event_type) = &filter.event_type {
        query
            .push(" AND event_type = ")
            .push_bind(event_type.clone());
    }
    let rows = crate::list::page_of(&mut *conn, query, page).await?;
    Ok((rows, count(conn, filter).await?))
}

/// How many events match the filter, from the `list_counts` counters.
async fn count(conn: &mut PgConnection, filter: &EventFilter) -> Result<i64, sqlx::Error> {
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
