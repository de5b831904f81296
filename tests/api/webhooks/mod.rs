//! Webhooks: subscriptions over `/webhooks`, deliveries of link events from the outbox,
//! signed as Standard Webhooks has it, retried on a schedule, turned off after failing,
//! and delivered by every replica without two sending one delivery at once.

mod access;
mod clicked;
mod delivery;
mod lifecycle;
mod link_ends;
mod outbox;
pub mod receiver;
mod retries;

use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::TestApp;
use receiver::Received;
use shortener_domain::{LinkPolicy, RetrySchedule, WebhookSecret, verify_signature};
use shortener_server::replica::AppSettings;
use shortener_service::webhook_delivery::WebhookSettings;

/// A subscription as the API shows it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub id: i64,
    pub user_id: Option<i64>,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    pub created_at: String,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    pub updated_at: String,
}

/// A subscription with its secret (`POST /webhooks`, a rotation).
#[derive(Debug, Deserialize)]
pub struct WithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

/// A delivery as the API lists it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// Settings for a replica that delivers to receivers on 127.0.0.1 (ALLOW_PRIVATE_TARGETS),
/// polling often, with this retry schedule and disabling threshold.
pub fn settings(schedule: &[Duration], disable_after: i32) -> AppSettings {
    AppSettings {
        link_policy: LinkPolicy::default().allowing_private_targets(true),
        webhooks: WebhookSettings {
            poll_interval: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
            schedule: RetrySchedule::new(schedule.to_vec()),
            disable_after,
            allow_private_targets: true,
            ..WebhookSettings::default()
        },
        ..AppSettings::default()
    }
}

/// A replica as [`settings`] makes it, with a short schedule and a high threshold.
pub fn app(pool: PgPool) -> TestApp {
    TestApp::with_settings(pool, settings(&[Duration::from_millis(100)], 100))
}

/// Subscribes `url` to `events`; returns the subscription and its secret.
pub async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> WithSecret {
    app.post_json("/webhooks", json!({"url": url, "events": events}))
        .await
        .expect_body(StatusCode::CREATED)
}

/// A subscription's deliveries.
pub async fn deliveries(app: &TestApp, webhook: i64) -> Vec<Delivery> {
    app.get(&format!("/webhooks/{webhook}/deliveries"))
        .await
        .expect_body(StatusCode::OK)
}

/// Asserts that `received` is signed with `secret` and was sent within a minute of now.
#[track_caller]
pub fn assert_signed(received: &Received, secret: &str) {
    let secret = WebhookSecret::parse(secret).unwrap();
    assert!(
        verify_signature(
            &secret,
            &received.id,
            received.timestamp,
            received.body.as_bytes(),
            &received.signature
        ),
        "bad signature on {received:?}"
    );
    let age = chrono::Utc::now().timestamp() - received.timestamp;
    assert!((0..60).contains(&age), "timestamp {age} s old");
    assert!(received.id.starts_with("msg_"), "{}", received.id);
}

/// The payload's link id.
pub fn link_id(received: &Received) -> i64 {
    received.json()["data"]["link"]["id"].as_i64().unwrap()
}

/// How many deliveries the outbox holds.
pub async fn outbox_rows(pool: &PgPool) -> i64 {
    crate::helpers::count_rows(pool, "webhook_deliveries").await
}

/// `body`'s value at `pointer`, for short assertions on payloads.
pub fn at<'a>(body: &'a Value, pointer: &str) -> &'a Value {
    body.pointer(pointer).unwrap_or(&Value::Null)
}
