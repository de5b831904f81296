//! The events of a link's end: `link.expired` on the first visit after its expiry, once
//! per expiry time whichever replica sees it; `link.visits_exhausted` from the visit that
//! uses the last of its cap, in the statement that counts it.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use super::receiver::Receiver;
use super::{app, assert_signed, at, link_id, subscribe};
use crate::redirect::send_with;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

#[sqlx::test]
async fn an_expired_link_sends_link_expired_once_per_expiry_across_replicas(pool: PgPool) {
    let first = app(pool.clone());
    let second = app(pool);
    let receiver = Receiver::start().await;
    let made = subscribe(&first, &receiver.url, &["link.expired"]).await;
    let link = first.shorten("https://example.com/ends").await;
    let path = format!("/{}", link.short_code);
    first
        .update_link(link.id, json!({"expires_at": "2020-01-01T00:00:00"}))
        .await
        .expect(StatusCode::OK);
    for replica in [&first, &second, &first, &second, &first] {
        send_with(replica, Method::GET, &path, &[("user-agent", BROWSER)])
            .await
            .expect_error(StatusCode::GONE);
    }
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "once: {received:#?}");
    assert_eq!(received[0].event_type(), "link.expired");
    assert_eq!(link_id(&received[0]), link.id);
    assert_eq!(
        at(&received[0].json(), "/data/link/expires_at"),
        "2020-01-01T00:00:00"
    );
    assert_signed(&received[0], &made.secret);

    // A new expiry is a new occasion.
    first
        .update_link(link.id, json!({"expires_at": "2021-06-01T12:00:00"}))
        .await
        .expect(StatusCode::OK);
    for replica in [&second, &first] {
        send_with(replica, Method::GET, &path, &[("user-agent", BROWSER)])
            .await
            .expect_error(StatusCode::GONE);
    }
    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(
        at(&received[1].json(), "/data/link/expires_at"),
        "2021-06-01T12:00:00"
    );
}

#[sqlx::test]
async fn the_visit_that_uses_the_last_of_a_cap_sends_link_visits_exhausted_once(pool: PgPool) {
    let app = app(pool);
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        &receiver.url,
        &["link.visits_exhausted", "link.created"],
    )
    .await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/capped", "max_visits": 2}))
        .await;
    let path = format!("/{}", link.short_code);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            send_with(&app, Method::GET, &path, &[("user-agent", BROWSER)])
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::FOUND,
            StatusCode::FOUND,
            StatusCode::GONE,
            StatusCode::GONE
        ]
    );
    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let types: Vec<String> = receiver.received().iter().map(|r| r.event_type()).collect();
    assert_eq!(
        types,
        ["link.created", "link.visits_exhausted"],
        "{received:#?}"
    );
    let exhausted = received[1].json();
    assert_eq!(at(&exhausted, "/data/link/max_visits"), 2);
    assert_eq!(at(&exhausted, "/data/link/id"), link.id);
}
