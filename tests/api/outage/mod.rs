//! Postgres outages, on a private cluster that the tests stop and start: cached links
//! keep redirecting, everything else answers 503 fast, queued clicks survive within
//! capacity (beyond it they are dropped, counted and logged), and the service recovers
//! without a restart.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::bodies::{ErrorBody, Link};
use crate::helpers::servers::PgCluster;
use crate::helpers::{TestApp, TestResponse};
use shortener_cache::CacheEntry;
use shortener_clicks::ClickSettings;
use shortener_server::replica::AppSettings;

mod clicks;
mod partition;
mod serving;
mod spill;

/// Generous bound for one answer while Postgres is down (the contract says "about a
/// second"; the pool's acquire timeout is 500 ms, the machine is noisy).
const FAST: Duration = Duration::from_secs(3);

/// A private cluster with a migrated database `app`, and a pool over it with a short
/// acquire timeout, as the service configures its own.
async fn private_database() -> (PgCluster, PgPool) {
    let pg = blocking(|| {
        let pg = PgCluster::start();
        pg.create_database("app");
        pg
    });
    let pool = connect(&pg).await;
    shortener_store::migrate(&pool).await.unwrap();
    (pg, pool)
}

/// Another pool over the private database (a second replica's).
async fn connect(pg: &PgCluster) -> PgPool {
    PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .max_connections(5)
        .connect(&pg.url("app"))
        .await
        .unwrap()
}

/// The app over `pool`, once its invalidation listener is subscribed (so the
/// notifications of the links it creates reach it, and none arrives late).
async fn start_app(pool: PgPool, settings: AppSettings) -> TestApp {
    let app = TestApp::with_settings(pool, settings);
    assert!(
        app.app
            .wait_for_invalidations(Duration::from_secs(10))
            .await,
        "the invalidation listener did not subscribe"
    );
    app
}

/// Runs blocking cluster control (`initdb`, `pg_ctl`) so that, on a multi-threaded
/// runtime, the app's tasks keep running meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::current().runtime_flavor() {
        RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn stop(pg: &PgCluster) {
    blocking(|| pg.stop());
}

fn start_again(pg: &PgCluster) {
    blocking(|| pg.start_again());
}

/// A request with an optional JSON body.
fn request(method: Method, path: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path);
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Sends without flushing the click queue first (a flush waits for Postgres), and
/// measures how long the answer took.
async fn timed(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (TestResponse, Duration) {
    let started = Instant::now();
    let response = app.send_now(request(method, path, body)).await;
    (response, started.elapsed())
}

async fn get_now(app: &TestApp, path: &str) -> TestResponse {
    app.send_now(request(Method::GET, path, None)).await
}

/// Polls `check` every 50 ms until it yields a value or `limit` passes; panics naming `what`.
async fn poll<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return (value, started.elapsed());
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// In-process cache evictions this app has applied (its own writes and notifications).
fn l1_invalidations(app: &TestApp) -> u64 {
    app.state
        .metrics()
        .cache_invalidations
        .with_label_values(&["l1"])
        .get()
}

fn l1_hits(app: &TestApp) -> u64 {
    app.state
        .metrics()
        .cache_lookups
        .with_label_values(&["l1", "hit"])
        .get()
}

/// Waits until `app` has applied at least `count` in-process evictions, so no
/// notification is still on its way to evict what the test caches next.
async fn wait_for_invalidations(app: &TestApp, count: u64) {
    poll(
        "the link's notification reached the app",
        Duration::from_secs(10),
        move || async move { (l1_invalidations(app) >= count).then_some(()) },
    )
    .await;
}

/// Puts `code` into the app's in-process cache, and checks that the next lookup is
/// answered from there.
async fn warm(app: &TestApp, code: &str) {
    // Through the cache itself: a redirect, even a HEAD, would queue a click.
    let first = app.cache().resolve(app.db(), code).await.unwrap();
    assert!(matches!(first.as_ref(), CacheEntry::Link(_)), "{code}");
    let hits = l1_hits(app);
    app.cache().resolve(app.db(), code).await.unwrap();
    assert_eq!(
        l1_hits(app),
        hits + 1,
        "{code} is not held in the in-process cache"
    );
}

/// Creates a link through `app` and caches it there.
async fn cached_link(app: &TestApp, url: &str) -> Link {
    cached_link_of(app, json!({"original_url": url})).await
}

/// [`cached_link`] of a link created with `body`.
async fn cached_link_of(app: &TestApp, body: Value) -> Link {
    let before = l1_invalidations(app);
    let link = app.create_link(body).await;
    // The app's own eviction, then the insert trigger's notification.
    wait_for_invalidations(app, before + 2).await;
    warm(app, &link.short_code).await;
    link
}

/// Click events of a link, counted in the database.
async fn try_click_events(pool: &PgPool, url_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE url_id = $1 AND event_type = 'click'")
        .bind(url_id)
        .fetch_one(pool)
        .await
}

async fn click_events(pool: &PgPool, url_id: i64) -> i64 {
    try_click_events(pool, url_id).await.unwrap()
}

/// `Some` once the link has at least `count` click events; errors (the pool reconnecting)
/// are just another poll.
async fn clicks_reached(pool: &PgPool, url_id: i64, count: i64) -> Option<()> {
    let found = try_click_events(pool, url_id).await.ok()?;
    (found >= count).then_some(())
}

/// The link's click counter, kept by the writer.
async fn click_count(pool: &PgPool, url_id: i64) -> i64 {
    sqlx::query_scalar("SELECT coalesce((SELECT clicks FROM link_clicks_now WHERE url_id = $1), 0)")
        .bind(url_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Asserts a JSON error answer with this status, given fast.
#[track_caller]
fn assert_fast_error(what: &str, (response, took): &(TestResponse, Duration), status: StatusCode) {
    eprintln!("{what}: {} in {took:?}", response.status);
    assert_eq!(
        response.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&response.body)
    );
    if let Err(error) = serde_json::from_slice::<ErrorBody>(&response.body) {
        panic!(
            "{what}: no error message ({error}): {}",
            String::from_utf8_lossy(&response.body)
        );
    }
    assert!(took < &FAST, "{what}: answered after {took:?}");
}
