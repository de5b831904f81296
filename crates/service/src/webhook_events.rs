//! The events of a link change, written to the webhook outbox in the change's own
//! transaction: a committed change has its deliveries, and a rolled-back one has none.
//! A payload is `{"type", "timestamp", "data"}`, its bytes fixed when it is queued, so
//! every attempt sends (and signs) the same body.

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgConnection;

use shortener_domain::{Link, WebhookEvent, timestamp};
use shortener_store::webhook_deliveries;

/// A link as a payload shows it: what a receiver needs to tell which link and where it
/// goes, without the behaviour's detail (the API's `GET /urls/{id}` has that).
fn link_data(link: &Link) -> Value {
    json!({
        "id": link.id,
        "short_code": link.short_code,
        "original_url": link.original_url,
        "user_id": link.user_id,
        "title": link.title,
        "is_active": link.is_active,
        "expires_at": link.expires_at.as_ref().map(timestamp::format),
        "tags": link.tags,
        "version": link.version,
    })
}

/// The body of one event, as sent.
fn payload(event: WebhookEvent, data: Value) -> String {
    json!({
        "type": event.name(),
        "timestamp": timestamp::format(&Utc::now()),
        "data": data,
    })
    .to_string()
}

/// Queues `event` about `link` for its owner's subscriptions (and the unowned ones), in
/// the caller's transaction. `changes` names each changed field with its new value
/// (`link.updated`).
pub(crate) async fn link_event(
    conn: &mut PgConnection,
    event: WebhookEvent,
    link: &Link,
    changes: Option<Value>,
) -> Result<u64, sqlx::Error> {
    let mut data = json!({ "link": link_data(link) });
    if let Some(changes) = changes {
        data["changes"] = changes;
    }
    webhook_deliveries::enqueue(conn, link.user_id, event.name(), &payload(event, data)).await
}
