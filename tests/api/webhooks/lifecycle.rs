//! A subscription's life and its deliveries: turned off, its waiting deliveries are held
//! out of the claims and go out when it is on again; deleted, they end unsent; turned off
//! by its owner during an attempt that then fails, the attempt is still recorded; a
//! removed user's links are announced to the subscriptions across links.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use super::receiver::Receiver;
use super::{Delivery, Webhook, app, at, deliveries, link_id, settings, subscribe};
use crate::helpers::TestApp;

/// A URL nothing listens at.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/hook", listener.local_addr().unwrap())
}

/// Waits (at most 20 s) until the subscription's first delivery passes `check`.
async fn wait_until(app: &TestApp, webhook: i64, check: impl Fn(&Delivery) -> bool) -> Delivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut listed = deliveries(app, webhook).await;
        if listed.first().is_some_and(&check) || Instant::now() > deadline {
            return listed.remove(0);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test]
async fn off_holds_waiting_deliveries_on_releases_them_and_delete_ends_them(pool: PgPool) {
    let app = TestApp::with_settings(pool.clone(), settings(&[Duration::from_secs(3600)], 100));
    let made = subscribe(&app, &closed_port_url(), &["link.created"]).await;
    let path = format!("/webhooks/{}", made.webhook.id);
    app.shorten("https://example.com/held").await;
    let waiting = wait_until(&app, made.webhook.id, |d| {
        d.attempts == 1 && d.last_error.is_some()
    })
    .await;
    assert_eq!(waiting.status, "pending");

    app.put_json(&path, json!({"enabled": false}))
        .await
        .expect(StatusCode::OK);
    let held = &deliveries(&app, made.webhook.id).await[0];
    assert_eq!(held.status, "held");
    let retry = format!("{path}/deliveries/{}/retry", held.id);
    let refused = app
        .post_json(&retry, json!({}))
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(refused.names("enabled"), "{refused:?}");

    let receiver = Receiver::start().await;
    let on: Webhook = app
        .put_json(&path, json!({"enabled": true, "url": receiver.url}))
        .await
        .expect_body(StatusCode::OK);
    assert!(on.enabled);
    assert_eq!(deliveries(&app, made.webhook.id).await[0].status, "pending");
    app.post_json(&retry, json!({}))
        .await
        .expect(StatusCode::ACCEPTED);
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received[0].id, held.message_id);

    // Deleted: what it had not sent ends unsent.
    let doomed = subscribe(&app, &closed_port_url(), &["link.created"]).await;
    app.shorten("https://example.com/doomed").await;
    wait_until(&app, doomed.webhook.id, |d| {
        d.attempts == 1 && d.last_error.is_some()
    })
    .await;
    app.delete(&format!("/webhooks/{}", doomed.webhook.id))
        .await
        .expect(StatusCode::NO_CONTENT);
    let ended: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, last_error FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(doomed.webhook.id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        ended,
        [(
            "failed".to_owned(),
            Some("the subscription was deleted".to_owned())
        )]
    );
}

#[sqlx::test]
async fn an_attempt_failing_after_its_owner_turned_the_subscription_off_is_still_recorded(
    pool: PgPool,
) {
    // One attempt per delivery; one failed delivery would turn it off.
    let app = TestApp::with_settings(pool, settings(&[], 1));
    let receiver = Receiver::start().await;
    receiver.answer(&[], 500);
    receiver.delay(Duration::from_millis(800));
    let made = subscribe(&app, &receiver.url, &["link.created"]).await;
    app.shorten("https://example.com/").await;
    assert!(receiver.wait_in_flight(Duration::from_secs(20)).await);
    app.put_json(
        &format!("/webhooks/{}", made.webhook.id),
        json!({"enabled": false}),
    )
    .await
    .expect(StatusCode::OK);
    let failed = wait_until(&app, made.webhook.id, |d| d.status == "failed").await;
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));
    assert_eq!(failed.last_status_code, Some(500));
    let off: Webhook = app
        .get(&format!("/webhooks/{}", made.webhook.id))
        .await
        .expect_body(StatusCode::OK);
    assert!(!off.enabled);
    assert_eq!(
        off.disabled_reason, None,
        "its owner turned it off, not the service"
    );
    let disabled = app.state.metrics().webhooks.disabled.get();
    assert_eq!(disabled, 0);
}

#[sqlx::test]
async fn a_removed_users_links_are_announced_to_subscriptions_across_links(pool: PgPool) {
    let app = app(pool);
    let receiver = Receiver::start().await;
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/ada", "user_id": user.id}))
        .await;
    subscribe(&app, &receiver.url, &["link.updated"]).await;
    app.delete_user(user.id)
        .await
        .expect(StatusCode::NO_CONTENT);
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].event_type(), "link.updated");
    assert_eq!(link_id(&received[0]), link.id);
    let body = received[0].json();
    assert_eq!(at(&body, "/data/changes"), &json!({"is_active": false}));
    assert_eq!(at(&body, "/data/link/is_active"), false);
}
