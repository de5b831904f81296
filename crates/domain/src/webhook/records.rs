//! Webhook subscriptions and their deliveries as they are stored and shown (never the
//! secret, which only the create and a rotation show).

use chrono::{DateTime, Utc};

/// A subscription to an owner's link events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    /// Whose links' events it receives; `None`: every link's.
    pub user_id: Option<i64>,
    pub url: String,
    /// The events' wire names.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the service turned it off; `None` while on or when its owner turned it off.
    pub disabled_reason: Option<String>,
    /// Deliveries in a row that used up every attempt.
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    /// The `webhook-id` of every attempt.
    pub message_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due; `None` once it is delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's status code; `None` when none came (a timeout, a refused
    /// connection).
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}
