//! Webhooks: the events an owner can subscribe to, the signing secret and signature of
//! Standard Webhooks, and the retry schedule of a delivery.

mod events;
mod records;
mod retry;
mod signature;

pub use events::{WEBHOOK_EVENTS, WebhookEvent, WebhookEventError, parse_events};
pub use records::{Webhook, WebhookDelivery};
pub use retry::{RETRY_DELAYS, RetrySchedule};
pub use signature::{
    SECRET_PREFIX, WebhookSecret, WebhookSecretError, signature_header, verify_signature,
};

/// Longest description of a subscription, in characters.
pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 500;
