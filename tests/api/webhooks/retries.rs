//! Failed attempts are tried again with the same `webhook-id` at growing intervals; a
//! delivery out of attempts fails, a subscription whose deliveries keep failing is turned
//! off with its reason shown, and a manual retry sends a delivery again.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use super::receiver::Receiver;
use super::{Delivery, Webhook, assert_signed, deliveries, settings, subscribe};
use crate::helpers::TestApp;

#[sqlx::test]
async fn a_receiver_failing_three_times_gets_the_same_id_four_times_at_growing_intervals(
    pool: PgPool,
) {
    let schedule = [
        Duration::from_millis(200),
        Duration::from_millis(1000),
        Duration::from_millis(3000),
    ];
    let app = TestApp::with_settings(pool, settings(&schedule, 100));
    let receiver = Receiver::start().await;
    receiver.answer(&[500, 503, 500], 200);
    let made = subscribe(&app, &receiver.url, &["link.created"]).await;
    app.shorten("https://example.com/").await;
    let received = receiver.wait_for(4, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 4, "{received:#?}");
    assert!(
        received.iter().all(|r| r.id == received[0].id),
        "one webhook-id throughout"
    );
    for attempt in &received {
        assert_signed(attempt, &made.secret);
        assert_eq!(attempt.body, received[0].body, "the same body every time");
    }
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (gap, wait) in gaps.iter().zip(schedule) {
        // The schedule's jitter takes at most a fifth off a wait.
        assert!(
            *gap >= wait.mul_f64(0.8),
            "gaps {gaps:?} against {schedule:?}"
        );
    }
    assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "growing: {gaps:?}");
    let listed = wait_for_status(&app, made.webhook.id, "delivered").await;
    assert_eq!(listed.attempts, 4);
    assert_eq!(listed.last_status_code, Some(200));
    assert_eq!(listed.message_id, received[0].id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4, "nothing after the 200");
}

/// Waits (at most 20 s) until the subscription's first delivery has `status`.
async fn wait_for_status(app: &TestApp, webhook: i64, status: &str) -> Delivery {
    wait_for_delivery(app, webhook, None, status).await
}

/// Waits (at most 20 s) until the subscription's delivery `id` (else its first) has
/// `status`.
async fn wait_for_delivery(app: &TestApp, webhook: i64, id: Option<i64>, status: &str) -> Delivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = deliveries(app, webhook).await;
        let delivery = listed
            .into_iter()
            .find(|d| id.is_none_or(|id| d.id == id))
            .unwrap();
        if delivery.status == status || Instant::now() > deadline {
            return delivery;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn webhook(app: &TestApp, id: i64) -> Webhook {
    app.get(&format!("/webhooks/{id}"))
        .await
        .expect_body(StatusCode::OK)
}

#[sqlx::test]
async fn failing_deliveries_turn_a_subscription_off_and_a_manual_retry_sends_again(pool: PgPool) {
    // Two attempts per delivery; two failed deliveries in a row turn it off.
    let app = TestApp::with_settings(pool, settings(&[Duration::from_millis(50)], 2));
    let receiver = Receiver::start().await;
    receiver.answer(&[], 500);
    let made = subscribe(&app, &receiver.url, &["link.created"]).await;
    app.shorten("https://example.com/1").await;
    let first = wait_for_status(&app, made.webhook.id, "failed").await;
    assert_eq!(first.attempts, 2);
    assert_eq!(first.last_status_code, Some(500));
    assert_eq!(first.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(first.next_attempt_at, None);
    assert!(
        webhook(&app, made.webhook.id).await.enabled,
        "one failed delivery is not a run"
    );

    app.shorten("https://example.com/2").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let off = loop {
        let current = webhook(&app, made.webhook.id).await;
        if !current.enabled || Instant::now() > deadline {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!off.enabled);
    assert_eq!(off.consecutive_failures, 2);
    let reason = off.disabled_reason.unwrap();
    assert!(
        reason.contains("2 deliveries in a row") && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert_eq!(receiver.received().len(), 4);

    // Off: a change queues nothing for it.
    app.shorten("https://example.com/3").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&app, made.webhook.id).await.len(), 2);

    receiver.answer(&[], 200);
    let on: Webhook = app
        .put_json(
            &format!("/webhooks/{}", made.webhook.id),
            json!({"enabled": true}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert!(on.enabled && on.disabled_reason.is_none());
    assert_eq!(on.consecutive_failures, 0);
    let retried: Delivery = app
        .post_json(
            &format!(
                "/webhooks/{}/deliveries/{}/retry",
                made.webhook.id, first.id
            ),
            json!({}),
        )
        .await
        .expect_body(StatusCode::ACCEPTED);
    assert_eq!(retried.status, "pending");
    let received = receiver.wait_for(5, Duration::from_secs(20)).await;
    assert_eq!(
        received[4].id, first.message_id,
        "the retry keeps its webhook-id"
    );
    let again = wait_for_delivery(&app, made.webhook.id, Some(first.id), "delivered").await;
    assert_eq!((again.status.as_str(), again.attempts), ("delivered", 3));

    for path in [
        format!("/webhooks/{}/deliveries/999999/retry", made.webhook.id),
        format!("/webhooks/999999/deliveries/{}/retry", first.id),
    ] {
        app.post_json(&path, json!({}))
            .await
            .expect_error(StatusCode::NOT_FOUND);
    }
}

#[sqlx::test]
async fn an_unreachable_receiver_is_a_failed_attempt_with_its_cause(pool: PgPool) {
    let app = TestApp::with_settings(pool, settings(&[Duration::from_secs(3600)], 100));
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let made = subscribe(&app, &format!("http://{closed}/hook"), &["link.created"]).await;
    app.shorten("https://example.com/").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let listed = deliveries(&app, made.webhook.id).await;
        if listed
            .first()
            .is_some_and(|d| d.attempts == 1 && d.last_error.is_some())
            || Instant::now() > deadline
        {
            break listed.into_iter().next().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(delivery.status, "pending", "retried later");
    assert_eq!(delivery.last_status_code, None);
    let error = delivery.last_error.unwrap();
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(delivery.next_attempt_at.is_some());
}
