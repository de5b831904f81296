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
    /// The API key's name ([`Event::actor`]).
    pub actor: Option<&'a str>,
}

/// Appends one event.
pub async fn insert(conn: &mut PgConnection, event: NewEvent<'_>) -> Result<Event, sqlx::Error> {
    sqlx::query_as!(
        Event,
        "INSERT INTO events (url_id, user_id, event_type, details, actor) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, url_id, user_id, event_type, timestamp, details, actor",
        event.url_id,
        event.user_id,
        event.event_type,
        event.details,
        event.actor,
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
        "SELECT id, url_id, user_id, event_type, timestamp, details, actor FROM events WHERE TRUE",
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

/// How many events match the filter: the rest of the trail from the list 'events' of
/// `list_counts`, the clicks from their rollups (migration `20261206000004`): a link's
/// stored clicks in `link_clicks.retained` (a click is attributed to its link's owner,
/// so a link's clicks by a user are all of them or none), a user's and everyone's in the
/// list 'clicks'. At most 16 shards summed, never the table counted.
async fn count(conn: &mut PgConnection, filter: &EventFilter) -> Result<i64, sqlx::Error> {
    let wants_clicks = filter.event_type.as_deref().is_none_or(|t| t == CLICK);
    let wants_others = filter.event_type.as_deref() != Some(CLICK);
    let others = if wants_others {
        sqlx::query_scalar!(
            r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
               WHERE list = 'events' AND filter = event_count_key($1, $2, $3)"#,
            filter.url_id,
            filter.user_id,
            filter.event_type.as_deref(),
        )
        .fetch_one(&mut *conn)
        .await?
    } else {
        0
    };
    let clicks = match (wants_clicks, filter.url_id) {
        (false, _) => 0,
        (true, Some(url_id)) => {
            sqlx::query_scalar!(
                r#"SELECT coalesce(
                   (SELECT c.retained FROM link_clicks c JOIN urls u ON u.id = c.url_id
                    WHERE c.url_id = $1 AND ($2::bigint IS NULL OR u.user_id = $2)), 0)
               AS "total!""#,
                url_id,
                filter.user_id,
            )
            .fetch_one(&mut *conn)
            .await?
        }
        (true, None) => {
            sqlx::query_scalar!(
                r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
               WHERE list = 'clicks' AND filter = coalesce('user=' || $1::bigint, '')"#,
                filter.user_id,
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(others + clicks)
}

/// The type of the events redirects record.
const CLICK: &str = "click";
