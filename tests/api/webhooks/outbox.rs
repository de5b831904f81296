//! The outbox: deliveries are written in the change's own transaction, so a rolled-back
//! change has none and a committed one keeps its own through the death of the replica
//! that made it; every replica delivers, and no two send one delivery at the same time.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::receiver::Receiver;
use super::{WithSecret, app, assert_signed, link_id, outbox_rows, settings, subscribe};
use crate::helpers::TestApp;
use crate::helpers::process::{request, serve};

async fn bulk_all_or_nothing(app: &TestApp, items: &Value) -> crate::helpers::TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/urls/bulk?all_or_nothing=true")
        .header("content-type", "application/json")
        .body(Body::from(items.to_string()))
        .unwrap();
    app.send(request).await
}

#[sqlx::test]
async fn a_rolled_back_change_queues_no_delivery(pool: PgPool) {
    let app = app(pool.clone());
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url, &["link.created"]).await;
    // The first item is created (and its delivery written) before the second is refused
    // for its owner; all or nothing rolls both back.
    let refused = json!([
        {"original_url": "https://example.com/kept-then-undone"},
        {"original_url": "https://example.com/orphan", "user_id": 999_999},
    ]);
    let error = bulk_all_or_nothing(&app, &refused)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(error.detail("1"), "user not found");
    assert_eq!(outbox_rows(&pool).await, 0);
    let committed = json!([
        {"original_url": "https://example.com/a"},
        {"original_url": "https://example.com/b"},
    ]);
    bulk_all_or_nothing(&app, &committed)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        outbox_rows(&pool).await,
        2,
        "a committed change has its deliveries"
    );
    let received = receiver.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2, "{received:#?}");
    assert!(
        received
            .iter()
            .all(|r| !r.body.contains("kept-then-undone"))
    );
}

#[sqlx::test]
async fn two_replicas_share_the_deliveries_and_never_send_one_at_the_same_time(pool: PgPool) {
    let first = app(pool.clone());
    let second = TestApp::with_settings(pool, settings(&[Duration::from_millis(100)], 100));
    let receiver = Receiver::start().await;
    // Slow answers keep claims open while the other replica polls.
    receiver.delay(Duration::from_millis(300));
    let made = subscribe(&first, &receiver.url, &["link.created"]).await;
    let links = 40;
    for n in 0..links {
        first.shorten(&format!("https://example.com/{n}")).await;
    }
    let received = receiver.wait_for(links, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received_later = receiver.received();
    assert_eq!(
        received_later.len(),
        links,
        "each delivery sent once: {received:#?}"
    );
    assert!(
        !receiver.overlapped(),
        "one webhook-id was in flight twice at once"
    );
    let mut per_link: HashMap<i64, usize> = HashMap::new();
    for delivery in &received_later {
        assert_signed(delivery, &made.secret);
        *per_link.entry(link_id(delivery)).or_default() += 1;
    }
    assert_eq!(per_link.len(), links);
    let delivered = |app: &TestApp| {
        app.state
            .metrics()
            .webhooks
            .attempts
            .with_label_values(&["delivered"])
            .get()
    };
    let (by_first, by_second) = (delivered(&first), delivered(&second));
    assert_eq!(by_first + by_second, links as u64);
    assert!(
        by_first > 0 && by_second > 0,
        "both replicas delivered: {by_first} and {by_second}"
    );
}

#[sqlx::test]
async fn a_replica_killed_right_after_the_commit_has_its_event_delivered_by_another(pool: PgPool) {
    let receiver = Receiver::start().await;
    // This replica looks for deliveries once at start, then not for ten minutes: what it
    // commits is left to the other.
    let (mut killed, port) = serve(
        &pool,
        &[
            ("ALLOW_PRIVATE_TARGETS", "true"),
            ("WEBHOOK_POLL_MS", "600000"),
        ],
    )
    .await;
    let body = json!({"url": receiver.url, "events": ["link.created"]}).to_string();
    let made: WithSecret = request(port, "POST", "/webhooks", Some(&body))
        .await
        .map(|answer| {
            assert_eq!(answer.status, 201, "{}", answer.text());
            serde_json::from_slice(&answer.body).unwrap()
        })
        .unwrap();
    let link = json!({"original_url": "https://example.com/survives"}).to_string();
    let created = request(port, "POST", "/urls", Some(&link)).await.unwrap();
    assert_eq!(created.status, 201);
    let link_id_made = serde_json::from_slice::<Value>(&created.body).unwrap()["id"]
        .as_i64()
        .unwrap();
    let kill = std::process::Command::new("kill")
        .args(["-KILL", &killed.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    killed.exit_within(Duration::from_secs(10)).await;
    assert!(
        receiver.received().is_empty(),
        "the killed replica sent nothing"
    );

    let survivor = app(pool);
    let received = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].event_type(), "link.created");
    assert_eq!(link_id(&received[0]), link_id_made);
    assert_signed(&received[0], &made.secret);
    drop(survivor);
}
