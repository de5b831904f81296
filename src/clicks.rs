//! Click recording: each followed redirect appends a `click` event.

use serde_json::json;
use sqlx::PgPool;

use crate::db::events::{self, NewEvent};

/// Longest referrer or user agent kept, in characters.
const MAX_HEADER_CHARS: usize = 512;

/// One followed redirect.
#[derive(Debug, Clone)]
pub struct Click {
    pub url_id: i64,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
}

/// Appends the click's event. A failure is logged and does not fail the redirect:
/// the visitor still reaches the destination.
pub async fn record(pool: &PgPool, click: Click) {
    let event = NewEvent {
        url_id: click.url_id,
        user_id: None,
        event_type: "click".to_owned(),
        details: json!({"referrer": click.referrer, "user_agent": click.user_agent}),
    };
    if let Err(error) = events::insert(pool, &event).await {
        tracing::warn!(url_id = click.url_id, %error, "click not recorded");
    }
}

/// Cuts a header value to a bounded length.
pub fn truncate(value: &str) -> String {
    value.chars().take(MAX_HEADER_CHARS).collect()
}
