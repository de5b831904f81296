//! The events of a link change, written to the webhook outbox in the change's own
//! transaction: a committed change has its deliveries, and a rolled-back one has none.
//! The body (`{"type", "timestamp", "data"}`) is built in Postgres from the link's row as
//! the transaction sees it (`webhook_link_payload`, migration `20261207000015`), its
//! bytes fixed when it is queued, so every attempt sends (and signs) the same body.

use serde_json::Value;
use sqlx::PgConnection;

use shortener_domain::{Link, WebhookEvent};
use shortener_store::webhook_deliveries;

/// Queues `event` about `link` for its owner's subscriptions (and the unowned ones), in
/// the caller's transaction. `changes` names each changed field with its new value
/// (`link.updated`).
pub(crate) async fn link_event(
    conn: &mut PgConnection,
    event: WebhookEvent,
    link: &Link,
    changes: Option<Value>,
) -> Result<i64, sqlx::Error> {
    webhook_deliveries::enqueue(conn, link.id, event.name(), changes.as_ref()).await
}
