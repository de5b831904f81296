//! Each link change is delivered once per subscription that names its event, signed with
//! the subscription's secret, with the change in its payload; the receiver's verifier in
//! docs/webhooks.md accepts a delivery and refuses a tampered one.

use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use super::receiver::Receiver;
use super::{app, assert_signed, at, deliveries, link_id, subscribe};

#[sqlx::test]
async fn every_link_change_is_delivered_once_signed_and_in_order(pool: PgPool) {
    let app = app(pool);
    let receiver = Receiver::start().await;
    let all = ["link.created", "link.updated", "link.deleted"];
    let made = subscribe(&app, &receiver.url, &all).await;
    assert!(made.secret.starts_with("whsec_"), "{}", made.secret);
    assert!(made.webhook.enabled);

    let link = app.shorten("https://example.com/first").await;
    app.update_link(
        link.id,
        json!({"original_url": "https://example.com/second", "title": "Second"}),
    )
    .await
    .expect(StatusCode::OK);
    app.delete_link(link.id)
        .await
        .expect(StatusCode::NO_CONTENT);

    let received = receiver.wait_for(3, Duration::from_secs(20)).await;
    // Nothing more comes: each change is delivered once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received_later = receiver.received();
    assert_eq!(received_later.len(), 3, "{received_later:#?}");
    let mut by_type: Vec<_> = received.iter().map(|r| r.event_type()).collect();
    by_type.sort();
    assert_eq!(by_type, ["link.created", "link.deleted", "link.updated"]);
    for delivery in &received {
        assert_signed(delivery, &made.secret);
        assert_eq!(link_id(delivery), link.id);
    }
    let updated = received
        .iter()
        .find(|r| r.event_type() == "link.updated")
        .unwrap()
        .json();
    assert_eq!(
        at(&updated, "/data/changes"),
        &json!({"original_url": "https://example.com/second", "title": "Second"})
    );
    assert_eq!(
        at(&updated, "/data/link/original_url"),
        "https://example.com/second"
    );
    let ids: std::collections::HashSet<_> = received.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 3, "each delivery has its own webhook-id");

    let listed = deliveries(&app, made.webhook.id).await;
    let listed_types: Vec<&str> = listed.iter().map(|d| d.event_type.as_str()).collect();
    assert_eq!(
        listed_types,
        ["link.created", "link.updated", "link.deleted"],
        "in id order"
    );
    for delivery in &listed {
        assert_eq!(delivery.status, "delivered");
        assert_eq!(delivery.attempts, 1);
        assert_eq!(delivery.last_status_code, Some(200));
        assert_eq!(delivery.next_attempt_at, None);
        assert!(delivery.finished_at.is_some() && delivery.last_attempt_at.is_some());
        assert!(ids.contains(&delivery.message_id));
        assert_eq!(delivery.webhook_id, made.webhook.id);
    }
}

#[sqlx::test]
async fn a_subscription_gets_only_the_events_it_names(pool: PgPool) {
    let app = app(pool);
    let deletions = Receiver::start().await;
    let everything = Receiver::start().await;
    let only_deleted = subscribe(&app, &deletions.url, &["link.deleted"]).await;
    subscribe(&app, &everything.url, &["link.created", "link.deleted"]).await;
    let link = app.shorten("https://example.com/").await;
    app.update_link(link.id, json!({"title": "t"}))
        .await
        .expect(StatusCode::OK);
    app.delete_link(link.id)
        .await
        .expect(StatusCode::NO_CONTENT);
    let all = everything.wait_for(2, Duration::from_secs(20)).await;
    let deleted = deletions.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deletions.received().len(), 1);
    assert_eq!(deleted[0].event_type(), "link.deleted");
    assert_eq!(everything.received().len(), 2, "{all:#?}");
    assert_eq!(deliveries(&app, only_deleted.webhook.id).await.len(), 1);
}

/// The verifier of docs/webhooks.md, run as a receiver would run it.
fn python_verifier(secret: &str, id: &str, timestamp: i64, signature: &str, body: &str) -> bool {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/verify_webhook.py"
    );
    let status = Command::new("python3")
        .arg(script)
        .env("WEBHOOK_SECRET", secret)
        .env("WEBHOOK_ID", id)
        .env("WEBHOOK_TIMESTAMP", timestamp.to_string())
        .env("WEBHOOK_SIGNATURE", signature)
        .env("WEBHOOK_BODY", body)
        .status()
        .expect("python3 runs");
    status.success()
}

#[sqlx::test]
async fn the_documented_verifier_accepts_a_delivery_and_refuses_a_tampered_one(pool: PgPool) {
    let app = app(pool);
    let receiver = Receiver::start().await;
    let made = subscribe(&app, &receiver.url, &["link.created"]).await;
    app.shorten("https://example.com/verified").await;
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    let got = &received[0];
    assert!(python_verifier(
        &made.secret,
        &got.id,
        got.timestamp,
        &got.signature,
        &got.body
    ));
    let tampered = got.body.replace("verified", "forged");
    assert!(!python_verifier(
        &made.secret,
        &got.id,
        got.timestamp,
        &got.signature,
        &tampered
    ));
    assert!(!python_verifier(
        &made.secret,
        "msg_other",
        got.timestamp,
        &got.signature,
        &got.body
    ));
    let stale = got.timestamp - 3600;
    assert!(
        !python_verifier(&made.secret, &got.id, stale, &got.signature, &got.body),
        "an old timestamp is refused (and the signature no longer matches)"
    );
    let rotated: super::WithSecret = app
        .post_json(
            &format!("/webhooks/{}/rotate-secret", made.webhook.id),
            json!({}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_ne!(rotated.secret, made.secret);
    app.shorten("https://example.com/after-rotation").await;
    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    let after = &received[1];
    assert!(python_verifier(
        &rotated.secret,
        &after.id,
        after.timestamp,
        &after.signature,
        &after.body
    ));
    assert!(!python_verifier(
        &made.secret,
        &after.id,
        after.timestamp,
        &after.signature,
        &after.body
    ));
}

#[sqlx::test]
async fn a_receiver_gets_no_more_than_its_rate_and_a_paced_delivery_counts_no_attempt(
    pool: PgPool,
) {
    let mut settings = super::settings(&[Duration::from_millis(100)], 100);
    settings.webhooks.rate_per_destination = std::num::NonZeroU32::new(2).unwrap();
    let app = crate::helpers::TestApp::with_settings(pool, settings);
    let receiver = Receiver::start().await;
    let made = subscribe(&app, &receiver.url, &["link.created"]).await;
    for n in 0..8 {
        app.shorten(&format!("https://example.com/{n}")).await;
    }
    let received = receiver.wait_for(8, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 8);
    let mut times: Vec<_> = received.iter().map(|r| r.at).collect();
    times.sort();
    // Two at once, then one every half second: the 8th's slot is 3 s after the 1st's.
    let span = times[7] - times[0];
    assert!(
        span >= Duration::from_millis(2500),
        "8 deliveries in {span:?}"
    );
    let paced = app
        .state
        .metrics()
        .webhooks
        .attempts
        .with_label_values(&["paced"])
        .get();
    assert!(paced > 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for delivery in deliveries(&app, made.webhook.id).await {
        assert_eq!(
            (delivery.status.as_str(), delivery.attempts),
            ("delivered", 1)
        );
    }
}
