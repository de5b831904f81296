//! The JSON of webhook subscriptions and deliveries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::WebhookEventName;
use shortener_domain::timestamp;
use shortener_service::webhooks::WithSecret;

/// A webhook subscription (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    /// Whose links' events it receives; `null`: every link's.
    pub user_id: Option<i64>,
    pub url: String,
    #[schema(value_type = Vec<WebhookEventName>)]
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Whether deliveries go out; the service turns it off after too many failed
    /// deliveries in a row (`WEBHOOK_DISABLE_AFTER`), saying why in `disabled_reason`.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Deliveries in a row that used up every attempt.
    pub consecutive_failures: i32,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub updated_at: DateTime<Utc>,
}

impl From<shortener_domain::Webhook> for Webhook {
    fn from(record: shortener_domain::Webhook) -> Self {
        Self {
            id: record.id,
            user_id: record.user_id,
            url: record.url,
            events: record.events,
            description: record.description,
            enabled: record.enabled,
            disabled_reason: record.disabled_reason,
            consecutive_failures: record.consecutive_failures,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A subscription just made, or its secret just rotated: its fields and, this once, the
/// secret that signs its deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub fields: Webhook,
    /// `whsec_` and base64 (Standard Webhooks): the HMAC-SHA256 key is the decoded part.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<WithSecret> for WebhookWithSecret {
    fn from(made: WithSecret) -> Self {
        Self {
            fields: made.webhook.into(),
            secret: made.secret,
        }
    }
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    /// The `webhook-id` header of every attempt.
    pub message_id: String,
    #[schema(value_type = WebhookEventName)]
    pub event_type: String,
    /// `pending`, `held` (waiting while the subscription is off), `delivered` or `failed`
    /// (every attempt used, or the subscription deleted).
    #[schema(example = "pending")]
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due; `null` once delivered or failed.
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's status code; `null` when none came.
    pub last_status_code: Option<i32>,
    /// What went wrong with the last attempt (`HTTP 503`, `timed out`, …).
    pub last_error: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<shortener_domain::WebhookDelivery> for WebhookDelivery {
    fn from(record: shortener_domain::WebhookDelivery) -> Self {
        Self {
            id: record.id,
            webhook_id: record.webhook_id,
            message_id: record.message_id,
            event_type: record.event_type,
            status: record.status,
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at,
            last_attempt_at: record.last_attempt_at,
            last_status_code: record.last_status_code,
            last_error: record.last_error,
            created_at: record.created_at,
            finished_at: record.finished_at,
        }
    }
}
