//! Destination health: the checker's verdicts as a link shows them, the fallback while a
//! destination is down, the webhooks of its flips, and one check per interval across
//! replicas.

mod site;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::TestApp;
use crate::helpers::bodies::{Destination, Link};
use crate::redirect::{assert_redirects_to, send_with};
use crate::webhooks::receiver::Receiver;
use crate::webhooks::{assert_signed, at, link_id, subscribe};
use shortener_server::replica::AppSettings;
use shortener_service::destination_health::HealthSettings;
use site::Site;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const FALLBACK: &str = "https://fallback.example/sorry";

/// A replica checking every `interval`, failing ones as often, down after 3 failures,
/// with destinations and receivers on 127.0.0.1.
fn settings(interval: Duration) -> AppSettings {
    AppSettings {
        health: HealthSettings {
            interval,
            retry_interval: interval,
            down_after: 3,
            timeout: Duration::from_secs(2),
            poll_interval: Duration::from_millis(50),
            allow_private_targets: true,
            ..HealthSettings::default()
        },
        ..crate::webhooks::settings(&[Duration::from_millis(100)], 100)
    }
}

/// Visits the link as a person; the answer.
async fn visit(app: &TestApp, link: &Link) -> crate::helpers::TestResponse {
    let path = format!("/{}", link.short_code);
    send_with(app, Method::GET, &path, &[("user-agent", BROWSER)]).await
}

/// Polls the link until its destination is `status`, checking `each` seen on the way.
async fn wait_for_status(
    app: &TestApp,
    id: i64,
    status: &str,
    mut each: impl FnMut(&Destination),
) -> Destination {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let link: Link = app.get_link(id).await.expect_body(StatusCode::OK);
        each(&link.destination);
        if link.destination.status == status {
            return link.destination;
        }
        assert!(
            Instant::now() < deadline,
            "still {:?}, not {status}",
            link.destination
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the redirect until it leads to `location` (a flip reaches the cache by the
/// link's new version).
async fn wait_for_redirect(app: &TestApp, link: &Link, location: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = visit(app, link).await;
        if answer.header("location") == Some(location) || Instant::now() >= deadline {
            assert_redirects_to(&answer, location);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test]
async fn a_failing_destination_goes_down_after_three_checks_detours_visitors_and_comes_back(
    pool: PgPool,
) {
    let app = TestApp::with_settings(pool, settings(Duration::from_secs(1)));
    let mut site = Site::start().await;
    let receiver = Receiver::start().await;
    let made = subscribe(
        &app,
        &receiver.url,
        &["link.destination_down", "link.destination_up"],
    )
    .await;
    let target = site.url("/page");
    let link = app
        .create_link(json!({"original_url": target, "expired_url": FALLBACK}))
        .await;
    assert_eq!(link.destination.status, "unknown");
    assert_eq!(link.destination.checked_at, None);
    // Only clicked links are watched.
    assert_redirects_to(&visit(&app, &link).await, &target);

    let up = wait_for_status(&app, link.id, "up", |_| {}).await;
    assert_eq!((up.status_code, up.failures), (Some(200), 0));
    assert!(up.checked_at.is_some() && up.down_since.is_none() && up.error.is_none());

    site.answer(503);
    let down = wait_for_status(&app, link.id, "down", |seen| {
        assert!(
            seen.status != "down" || seen.failures >= 3,
            "down after fewer than 3 failures: {seen:?}"
        );
    })
    .await;
    assert_eq!(down.status_code, Some(503));
    assert_eq!(down.error.as_deref(), Some("answered 503"));
    assert!(down.down_since.is_some());
    wait_for_redirect(&app, &link, FALLBACK).await;

    let went_down = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(went_down[0].event_type(), "link.destination_down");
    assert_eq!(link_id(&went_down[0]), link.id);
    let body = went_down[0].json();
    assert_eq!(at(&body, "/data/destination/status"), "down");
    assert_eq!(at(&body, "/data/destination/status_code"), 503);
    assert_signed(&went_down[0], &made.secret);

    // The site stops: still down, now without an answer.
    site.stop().await;
    let mut refused = wait_for_status(&app, link.id, "down", |_| {}).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while refused.status_code.is_some() {
        assert!(Instant::now() < deadline, "never refused: {refused:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        refused = wait_for_status(&app, link.id, "down", |_| {}).await;
    }
    assert!(
        refused.error.as_deref().unwrap_or("").contains("connect"),
        "{refused:?}"
    );
    assert_eq!(refused.down_since, down.down_since);
    wait_for_redirect(&app, &link, FALLBACK).await;

    // Back: one check that succeeds makes it up, and visitors go to the target again.
    site.answer(200);
    site.listen().await;
    let back = wait_for_status(&app, link.id, "up", |_| {}).await;
    assert_eq!((back.failures, back.down_since), (0, None));
    wait_for_redirect(&app, &link, &target).await;
    let flips = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(flips[1].event_type(), "link.destination_up");
    assert_eq!(at(&flips[1].json(), "/data/destination/status"), "up");
    assert_signed(&flips[1], &made.secret);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "one event per flip");
}

#[sqlx::test]
async fn a_refused_head_is_asked_again_as_a_get_and_a_link_without_fallback_keeps_its_target(
    pool: PgPool,
) {
    let app = TestApp::with_settings(pool, settings(Duration::from_secs(1)));
    let site = Site::start().await;
    site.answer_head(405);
    let target = site.url("/only-get");
    let link = app.create_link(json!({"original_url": target})).await;
    assert_redirects_to(&visit(&app, &link).await, &target);
    let up = wait_for_status(&app, link.id, "up", |_| {}).await;
    assert_eq!(up.status_code, Some(200));
    let (heads, gets) = site.requests();
    assert!(heads >= 1 && gets >= 1, "HEAD then GET: {heads} and {gets}");

    // A page that is gone is down; without an `expired_url` visitors still go there.
    site.answer_head(0);
    site.answer(404);
    let down = wait_for_status(&app, link.id, "down", |_| {}).await;
    assert_eq!(down.status_code, Some(404));
    assert_redirects_to(&visit(&app, &link).await, &target);

    // A new destination starts again, unknown.
    let moved = app
        .update_link(
            link.id,
            json!({"original_url": "https://example.com/moved"}),
        )
        .await
        .body::<Link>();
    assert_eq!(moved.destination.status, "unknown");
    assert_eq!(moved.destination.failures, 0);
}

#[sqlx::test]
async fn each_destination_is_checked_by_one_replica_per_interval(pool: PgPool) {
    let interval = Duration::from_secs(2);
    let first = TestApp::with_settings(pool.clone(), settings(interval));
    let second = TestApp::with_settings(pool.clone(), settings(interval));
    let site = Site::start().await;
    let target = site.url("/shared");
    let link = first.create_link(json!({"original_url": target})).await;
    assert_redirects_to(&visit(&second, &link).await, &target);
    wait_for_status(&first, link.id, "up", |_| {}).await;

    let (before, _) = site.requests();
    let window = Duration::from_secs(7);
    tokio::time::sleep(window).await;
    let (after, gets) = site.requests();
    let checks = after - before;
    // One replica's checks: one per interval (±10%), so at most 4 in 7 s; both replicas
    // checking would make about 7.
    assert!(
        (2..=4).contains(&checks),
        "{checks} checks in {window:?} at one per {interval:?}"
    );
    assert_eq!(gets, 0, "HEAD answered, no GET");
}
