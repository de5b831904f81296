//! The `events` table: the append-only audit trail of links (created, updated, deleted, click, …).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{FromRow, PgExecutor, PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;

use crate::domain::{Page, timestamp};

/// An event as the API shows it; `details` is always a JSON object.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Event {
    pub id: i64,
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub timestamp: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub details: Value,
}

const COLUMNS: &str = "id, url_id, user_id, event_type, timestamp, details";

/// An event to append; its timestamp is the database's `now()`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: String,
    pub details: Value,
}

/// Appends one event.
pub async fn insert(executor: impl PgExecutor<'_>, event: &NewEvent) -> Result<Event, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO events (url_id, user_id, event_type, details) VALUES ($1, $2, $3, $4) \
         RETURNING {COLUMNS}"
    ))
    .bind(event.url_id)
    .bind(event.user_id)
    .bind(&event.event_type)
    .bind(&event.details)
    .fetch_one(executor)
    .await
}

/// Filters of the event list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub url_id: Option<i64>,
    pub user_id: Option<i64>,
    pub event_type: Option<String>,
}

/// One page of events in id order, and how many match the filter.
pub async fn list(
    pool: &PgPool,
    filter: &EventFilter,
    page: Page,
) -> Result<(Vec<Event>, i64), sqlx::Error> {
    let filtered = |select: &str| {
        let mut query = QueryBuilder::<Postgres>::new(select);
        query.push(" FROM events WHERE TRUE");
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
        query
    };
    super::page_of(pool, COLUMNS, filtered, page).await
}
