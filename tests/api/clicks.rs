//! The click pipeline: redirects queue their clicks; a background writer inserts them in
//! batches with the per-link counters, quickly, with the request's headers and time, and
//! writes out the queue on shutdown and on SIGTERM.

use std::time::{Duration, Instant};

use crate::helpers::bodies::{Event, Link, LinkStats, ReferrerClicks};
use crate::helpers::process::{request, serve};
use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shortener_clicks::ClickSettings;
use shortener_server::replica::AppSettings;
use sqlx::PgPool;

/// A redirect of `code` with the given headers, sent without flushing the click queue.
async fn redirect(app: &TestApp, code: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = Request::builder().uri(format!("/{code}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.send_now(request.body(Body::empty()).unwrap()).await;
    assert_eq!(
        response.status,
        StatusCode::FOUND,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    response
}

/// `GET path` without flushing the click queue: what a client sees right now.
async fn get_now<T: DeserializeOwned>(app: &TestApp, path: &str) -> T {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    app.send_now(request).await.expect_body(StatusCode::OK)
}

/// Click events of a link, counted in the database.
async fn click_events(pool: &PgPool, url_id: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE url_id = $1 AND event_type = 'click'")
        .bind(url_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The link's click counter, kept by the writer.
async fn click_count(pool: &PgPool, url_id: i64) -> i64 {
    sqlx::query_scalar("SELECT coalesce((SELECT clicks FROM link_clicks_now WHERE url_id = $1), 0)")
        .bind(url_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// An app whose writer writes only when asked to (or when 1000 clicks are waiting).
fn slow_flushing_app(pool: PgPool) -> TestApp {
    let settings = AppSettings {
        clicks: ClickSettings {
            flush_interval: Duration::from_secs(10),
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

#[sqlx::test]
async fn a_click_is_visible_in_events_and_stats_within_200ms(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let link = app.shorten("https://example.com/fast").await;
    let (id, code) = (link.id, link.short_code.as_str());
    let mut delays = Vec::new();
    for expected in 1..=5 {
        let redirected = Instant::now();
        redirect(&app, code, &[]).await;
        // Straight from the database, every 5 ms: nothing here asks the writer to hurry.
        loop {
            if click_events(&pool, id).await >= expected && click_count(&pool, id).await >= expected
            {
                break;
            }
            assert!(
                redirected.elapsed() < Duration::from_secs(2),
                "click {expected} not visible after {:?}",
                redirected.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        delays.push(redirected.elapsed());
        // What the API shows at that moment (read without a flush).
        let events: Vec<Event> =
            get_now(&app, &format!("/events?url_id={id}&event_type=click")).await;
        assert_eq!(events.len() as i64, expected);
        let stats: LinkStats = get_now(&app, &format!("/urls/{id}/stats")).await;
        assert_eq!(stats.clicks, expected);
        assert!(stats.last_click_at.is_some());
    }
    eprintln!("click visibility delays (redirect to row in events and urls): {delays:?}");
    assert_eq!(app.state.metrics().clicks_written.get(), 5);
}

#[sqlx::test]
async fn concurrent_redirects_are_written_in_few_batches_with_exact_counts(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let first = app.shorten("https://example.com/one").await;
    let second = app.shorten("https://example.com/two").await;
    let codes = [first.short_code.as_str(), second.short_code.as_str()];
    let started = Instant::now();
    // 600 clicks on the first link and 400 on the second, 50 requests in flight at a time.
    for chunk in (0..1000).collect::<Vec<usize>>().chunks(50) {
        let redirects = chunk
            .iter()
            .map(|i| redirect(&app, codes[usize::from(i % 5 >= 3)], &[]));
        futures_util::future::join_all(redirects).await;
    }
    eprintln!("1000 redirects took {:?}", started.elapsed());
    app.clicks().flush().await;

    let (one, two) = (first.id, second.id);
    assert_eq!(click_events(&pool, one).await, 600);
    assert_eq!(click_events(&pool, two).await, 400);
    assert_eq!(click_count(&pool, one).await, 600);
    assert_eq!(click_count(&pool, two).await, 400);
    let stats: LinkStats = app.link_stats(one).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, 600);
    let stats: LinkStats = app.link_stats(two).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, 400);

    let metrics = &app.state.metrics();
    let batches = metrics.click_batch_size.get_sample_count();
    eprintln!(
        "1000 clicks were written in {batches} batches (sizes summing to {})",
        metrics.click_batch_size.get_sample_sum()
    );
    assert_eq!(metrics.click_batch_size.get_sample_sum(), 1000.0);
    assert!(batches <= 200, "{batches} batches: clicks are not batched");
    assert_eq!(metrics.clicks_written.get(), 1000);
    assert_eq!(metrics.clicks_enqueued.get(), 1000);
    assert_eq!(metrics.clicks_dropped.get(), 0);
    assert_eq!(metrics.click_queue_depth.get(), 0);
}

#[sqlx::test]
async fn clicks_keep_their_own_headers_and_the_time_of_the_redirect(pool: PgPool) {
    let app = slow_flushing_app(pool.clone());
    let link = app.shorten("https://example.com/who").await;
    let (id, code) = (link.id, link.short_code.as_str());
    let sent: [&[(&str, &str)]; 3] = [
        &[
            ("referer", "https://a.example/"),
            ("user-agent", "AgentA/1.0"),
        ],
        &[],
        &[("referer", "https://b.example/page")],
    ];
    let mut windows = Vec::new();
    for headers in sent {
        let before = Utc::now();
        redirect(&app, code, headers).await;
        windows.push((before, Utc::now()));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Written well after the redirects (nothing is written on its own with a 10 s interval).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(click_events(&pool, id).await, 0, "written before the flush");
    let flushed = Utc::now();
    app.clicks().flush().await;

    let rows: Vec<(DateTime<Utc>, Value)> = sqlx::query_as(
        "SELECT timestamp, details FROM events WHERE url_id = $1 AND event_type = 'click' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    let expected_details = [
        json!({"referrer": "https://a.example/", "user_agent": "AgentA/1.0", "class": "human",
               "reason": "browser", "referrer_host": "a.example"}),
        json!({"referrer": null, "user_agent": null, "class": "bot", "reason": "no_user_agent",
               "device": "bot"}),
        json!({"referrer": "https://b.example/page", "user_agent": null, "class": "bot",
               "reason": "no_user_agent", "device": "bot", "referrer_host": "b.example"}),
    ];
    let slack = chrono::Duration::milliseconds(1);
    for (((at, details), (before, after)), expected) in
        rows.iter().zip(&windows).zip(&expected_details)
    {
        assert_eq!(details, expected);
        assert!(
            *before - slack <= *at && *at <= *after + slack,
            "click at {at}, redirect between {before} and {after}"
        );
        assert!(
            flushed - *at > chrono::Duration::seconds(1),
            "click at {at} looks like the write time {flushed}"
        );
    }

    // The API shows the same, to the second.
    let events = app.events_of_type(link.id, "click").await;
    for ((event, (before, _)), expected) in events.iter().zip(&windows).zip(&expected_details) {
        assert_eq!(&event.details, expected);
        let shown = shortener_domain::timestamp::parse(&event.timestamp).unwrap();
        assert!(
            (shown - *before).abs() < chrono::Duration::seconds(1),
            "{event}"
        );
    }
    let stats: LinkStats = app.link_stats(id).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, 3);
    let last = shortener_domain::timestamp::parse(stats.last_click_at.as_deref().unwrap()).unwrap();
    assert!(
        (last - windows[2].0).abs() < chrono::Duration::seconds(1),
        "{stats}"
    );
    let mut referrers = stats.top_referrers.clone();
    // Named referring hosts in order, then the clicks without one.
    referrers.sort_by_key(|r| (r.referrer.is_none(), r.referrer.clone()));
    let referrer = |referrer: Option<&str>| ReferrerClicks {
        referrer: referrer.map(str::to_owned),
        clicks: 1,
    };
    assert_eq!(
        referrers,
        [
            referrer(Some("a.example")),
            referrer(Some("b.example")),
            referrer(None),
        ]
    );
}

#[sqlx::test]
async fn shutdown_writes_every_queued_click(pool: PgPool) {
    let app = slow_flushing_app(pool.clone());
    let link = app.shorten("https://example.com/last").await;
    let (id, code) = (link.id, link.short_code.clone());
    for _ in 0..100 {
        redirect(&app, &code, &[]).await;
    }
    assert_eq!(
        click_events(&pool, id).await,
        0,
        "written before the shutdown"
    );
    assert_eq!(app.state.metrics().click_queue_depth.get(), 100);

    let TestApp { app, .. } = app;
    let app = std::sync::Arc::try_unwrap(app)
        .ok()
        .expect("the test holds the only handle");
    let started = Instant::now();
    app.shutdown().await;
    eprintln!(
        "shutdown with 100 queued clicks took {:?}",
        started.elapsed()
    );
    assert_eq!(click_events(&pool, id).await, 100);
    assert_eq!(click_count(&pool, id).await, 100);
}

#[sqlx::test]
async fn sigterm_writes_the_queued_clicks_before_exit(pool: PgPool) {
    // A minute: nothing is written on its own while the test runs.
    let (mut server, port) = serve(&pool, &[("CLICK_FLUSH_INTERVAL_MS", "60000")]).await;

    let created = request(
        port,
        "POST",
        "/urls",
        Some(&json!({"original_url": "https://example.com/bye"}).to_string()),
    )
    .await
    .expect("POST /urls answers");
    let (status, body) = (created.status, created.text());
    assert_eq!(status, 201, "{body}");
    let link: Link = serde_json::from_str(&body)
        .unwrap_or_else(|error| panic!("expected a link ({error}), got {body}"));
    let (id, code) = (link.id, link.short_code.as_str());
    for i in 0..50 {
        let answer = request(port, "GET", &format!("/{code}"), None)
            .await
            .map(|r| r.status);
        assert_eq!(answer, Some(302), "redirect {i}; log: {}", server.log());
    }
    assert_eq!(click_events(&pool, id).await, 0, "written before SIGTERM");

    let signalled = Instant::now();
    server.sigterm();
    // Fails unless it exits within 10 s of SIGTERM.
    let status = server.exit_within(Duration::from_secs(10)).await;
    eprintln!("exited {status:?} {:?} after SIGTERM", signalled.elapsed());
    assert_eq!(status.code(), Some(0), "log: {}", server.log());
    assert_eq!(click_events(&pool, id).await, 50, "log: {}", server.log());
    assert_eq!(click_count(&pool, id).await, 50);
}
