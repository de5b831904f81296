//! Filtered lists in id order: the page of rows a filter selects, read into the domain's
//! records. Their SQL is built at run time (a filter adds its conditions), so the rows
//! are read by column name here rather than checked by `query_as!`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder, Row};

use shortener_domain::{Event, Link, Page, User};

/// A record a list pages through by its id.
pub trait Keyed {
    fn key(&self) -> i64;
}

impl Keyed for Link {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for shortener_domain::ApiKeyRecord {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for Event {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for shortener_domain::Webhook {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for shortener_domain::WebhookDelivery {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for User {
    fn key(&self) -> i64 {
        self.id
    }
}

/// A record read from a row of a list query.
pub(crate) struct Listed<T>(pub T);

impl FromRow<'_, PgRow> for Listed<Link> {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self(Link {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            short_code: row.try_get("short_code")?,
            original_url: row.try_get("original_url")?,
            title: row.try_get("title")?,
            is_active: row.try_get("is_active")?,
            expires_at: row.try_get::<Option<DateTime<Utc>>, _>("expires_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            version: row.try_get("version")?,
            max_visits: row.try_get("max_visits")?,
            visits_used: row.try_get("visits_used")?,
            expired_url: row.try_get("expired_url")?,
            redirect_status: row.try_get("redirect_status")?,
            forward_query: row.try_get("forward_query")?,
            tags: row.try_get("tags")?,
            preview: row.try_get("preview")?,
            protected: row.try_get("protected")?,
            rules: row.try_get("rules")?,
            variants: row.try_get("variants")?,
            destination: row.try_get("destination")?,
        }))
    }
}

impl FromRow<'_, PgRow> for Listed<Event> {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self(Event {
            id: row.try_get("id")?,
            url_id: row.try_get("url_id")?,
            user_id: row.try_get("user_id")?,
            event_type: row.try_get("event_type")?,
            timestamp: row.try_get("timestamp")?,
            details: row.try_get::<Value, _>("details")?,
            actor: row.try_get("actor")?,
        }))
    }
}

/// One page of a filtered list in id order. `filtered` is a `SELECT` of the record's
/// columns followed by `FROM … WHERE …` with the filter; a cursor page reads only the rows
/// after its id, through the index the filter's `(…, id)` order provides.
pub(crate) async fn page_of<T>(
    conn: &mut PgConnection,
    mut filtered: QueryBuilder<'_, Postgres>,
    page: Page,
) -> Result<Vec<T>, sqlx::Error>
where
    Listed<T>: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    if let Some(after) = page.after() {
        filtered.push(" AND id > ").push_bind(after);
    }
    filtered
        .push(" ORDER BY id LIMIT ")
        .push_bind(page.limit())
        .push(" OFFSET ")
        .push_bind(page.offset());
    let rows: Vec<Listed<T>> = filtered.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|Listed(record)| record).collect())
}
