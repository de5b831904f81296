//! The `events` table: the append-only audit trail of links (created, updated, deleted, click, …),
//! whose clicks' details an erasure empties.

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
/// `list_counts`, the clicks from their rollups (migration `20261206000004`) plus their
/// pending deltas (migration `20261207000004`): a link's stored clicks in
/// `link_clicks_now.retained` (a click is attributed to its link's owner, so a link's
/// clicks by a user are all of them or none), a user's and everyone's in the list
/// 'clicks' plus the deltas of one fold interval. At most 16 shards summed, never the
/// events counted.
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
                   (SELECT c.retained FROM link_clicks_now c
                    WHERE c.url_id = $1 AND ($2::bigint IS NULL OR EXISTS
                          (SELECT 1 FROM urls u WHERE u.id = $1 AND u.user_id = $2))), 0)
               AS "total!""#,
                url_id,
                filter.user_id,
            )
            .fetch_one(&mut *conn)
            .await?
        }
        (true, None) => {
            sqlx::query_scalar!(
                r#"SELECT ((SELECT coalesce(sum(n), 0) FROM list_counts
                           WHERE list = 'clicks' AND filter = coalesce('user=' || $1::bigint, ''))
                         + (SELECT coalesce(sum(clicks), 0) FROM click_deltas
                            WHERE $1::bigint IS NULL OR user_id = $1))::bigint
                   AS "total!""#,
                filter.user_id,
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(others + clicks)
}

/// Where a round of [`erase_click_details`] stopped: a click event's link and id.
pub type ClickKey = (i64, i64);

/// What one round of [`erase_click_details`] looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasedClicks {
    /// The click events looked at (at most the limit).
    pub seen: i64,
    /// The last of them in `(url_id, id)` order: where the next round starts.
    pub last: Option<ClickKey>,
    /// How many of them still had details, now `{}`.
    pub erased: i64,
}

/// Empties the `details` (the visitor's referrer and user agent, or whatever an import
/// brought) of the next `limit` click events of the links `url_ids` after `after` in
/// `(url_id, id)` order, the order of the click partitions' index; the link, owner and
/// time of each click stay. Each round is one statement reading at most `limit` rows: an
/// interrupted erasure loses nothing, and a repeated one reads the clicks again but
/// rewrites none twice.
///
/// It writes the click partitions (`events_clicks`), not the parent `events`: the
/// parent's counting trigger takes an updated click for a new one (it adds the new rows to
/// the link's totals, days and referrers), and emptying details changes no count.
pub async fn erase_click_details(
    conn: &mut PgConnection,
    url_ids: &[i64],
    after: ClickKey,
    limit: i64,
) -> Result<ErasedClicks, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH batch AS (
               SELECT url_id, id, timestamp FROM events_clicks
               WHERE url_id = ANY($1) AND (url_id, id) > ($2, $3)
               ORDER BY url_id, id LIMIT $4),
           erased AS (
               UPDATE events_clicks e SET details = '{}'
               FROM batch b
               WHERE e.url_id = b.url_id AND e.id = b.id AND e.timestamp = b.timestamp
                 AND e.details <> '{}'
               RETURNING 1),
           last AS (SELECT url_id, id FROM batch ORDER BY url_id DESC, id DESC LIMIT 1)
           SELECT (SELECT count(*) FROM batch) AS "seen!",
                  (SELECT url_id FROM last) AS last_url_id,
                  (SELECT id FROM last) AS last_id,
                  (SELECT count(*) FROM erased) AS "erased!""#,
        url_ids,
        after.0,
        after.1,
        limit,
    )
    .fetch_one(conn)
    .await?;
    Ok(ErasedClicks {
        seen: row.seen,
        last: row.last_url_id.zip(row.last_id),
        erased: row.erased,
    })
}

/// The type of the events redirects record.
const CLICK: &str = "click";
