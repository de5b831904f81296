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

use crate::helpers::servers::PgCluster;
use crate::helpers::{TestApp, TestResponse};
use shortener::clicks::ClickSettings;
use shortener::replica::AppSettings;

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
    shortener::db::migrate(&pool).await.unwrap();
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
        .metrics
        .cache_invalidations
        .with_label_values(&["l1"])
        .get()
}

fn l1_hits(app: &TestApp) -> u64 {
    app.state
        .metrics
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

/// Puts `code` into the app's in-process cache with a `HEAD` (which records no click),
/// and checks that the next lookup is answered from there.
async fn warm(app: &TestApp, code: &str) {
    let path = format!("/{code}");
    let first = app.send_now(request(Method::HEAD, &path, None)).await;
    assert_eq!(first.status, StatusCode::FOUND);
    let hits = l1_hits(app);
    let second = app.send_now(request(Method::HEAD, &path, None)).await;
    assert_eq!(second.status, StatusCode::FOUND);
    assert_eq!(
        l1_hits(app),
        hits + 1,
        "{code} is not held in the in-process cache"
    );
}

/// Creates a link through `app` and caches it there.
async fn cached_link(app: &TestApp, url: &str) -> Value {
    let before = l1_invalidations(app);
    let link = app.shorten(url).await;
    // The app's own eviction, then the insert trigger's notification.
    wait_for_invalidations(app, before + 2).await;
    warm(app, link["short_code"].as_str().unwrap()).await;
    link
}

/// Click events of a link, counted in the database.
async fn try_click_events(pool: &PgPool, url_id: &Value) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE url_id = $1 AND event_type = 'click'")
        .bind(url_id.as_i64().unwrap())
        .fetch_one(pool)
        .await
}

async fn click_events(pool: &PgPool, url_id: &Value) -> i64 {
    try_click_events(pool, url_id).await.unwrap()
}

/// `Some` once the link has at least `count` click events; errors (the pool reconnecting)
/// are just another poll.
async fn clicks_reached(pool: &PgPool, url_id: &Value, count: i64) -> Option<()> {
    let found = try_click_events(pool, url_id).await.ok()?;
    (found >= count).then_some(())
}

/// The link's click counter, kept by the writer.
async fn click_count(pool: &PgPool, url_id: &Value) -> i64 {
    sqlx::query_scalar("SELECT click_count FROM urls WHERE id = $1")
        .bind(url_id.as_i64().unwrap())
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
    assert!(
        response.json()["error"].is_string(),
        "{what}: no error message"
    );
    assert!(took < &FAST, "{what}: answered after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_cached_links_redirect_and_the_rest_is_503_fast() {
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let cached = cached_link(&app, "https://example.com/cached").await;
    let uncached = app.shorten("https://example.com/uncached").await;
    let owner = app.create_user("alice", "alice@example.com").await;
    let cached_code = cached["short_code"].as_str().unwrap();
    let uncached_code = uncached["short_code"].as_str().unwrap();
    let id = &cached["id"];

    stop(&pg);

    for path in [
        format!("/{cached_code}"),
        format!("/urls/{cached_code}/redirect"),
    ] {
        let (response, took) = timed(&app, Method::GET, &path, None).await;
        eprintln!("GET {path} (cached): {} in {took:?}", response.status);
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "{path}: {:?}",
            response.body
        );
        assert_eq!(
            response.header("location"),
            Some("https://example.com/cached")
        );
    }

    let uncached_redirect = timed(&app, Method::GET, &format!("/{uncached_code}"), None).await;
    assert_fast_error(
        "GET uncached code",
        &uncached_redirect,
        StatusCode::SERVICE_UNAVAILABLE,
    );
    let unknown = timed(&app, Method::GET, "/zzzzzzz", None).await;
    assert_fast_error(
        "GET unknown code",
        &unknown,
        StatusCode::SERVICE_UNAVAILABLE,
    );

    let user = json!({"username": "bob", "email": "bob@example.com"});
    let writes = [
        (Method::POST, "/users".to_owned(), Some(user)),
        (
            Method::POST,
            "/urls".to_owned(),
            Some(json!({"original_url": "https://example.com/new"})),
        ),
        (
            Method::PUT,
            format!("/urls/{id}"),
            Some(json!({"title": "renamed"})),
        ),
        (
            Method::PUT,
            format!("/users/{}", owner["id"]),
            Some(json!({"username": "carol"})),
        ),
        (
            Method::POST,
            "/events".to_owned(),
            Some(json!({"url_id": id, "event_type": "share"})),
        ),
        (Method::DELETE, format!("/urls/{}", uncached["id"]), None),
    ];
    let reads = [
        (Method::GET, format!("/urls/{id}"), None),
        (Method::GET, "/urls".to_owned(), None),
        (Method::GET, format!("/urls/{id}/stats"), None),
        (Method::GET, format!("/urls/{id}/events"), None),
        (Method::GET, format!("/events?url_id={id}"), None),
        (Method::GET, "/users".to_owned(), None),
    ];
    for (method, path, body) in writes.into_iter().chain(reads) {
        let what = format!("{method} {path}");
        let answer = timed(&app, method, &path, body).await;
        assert_fast_error(&what, &answer, StatusCode::SERVICE_UNAVAILABLE);
    }

    let (ready, took) = timed(&app, Method::GET, "/ready", None).await;
    eprintln!("GET /ready: {} in {took:?}", ready.status);
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["database"], "fail");
    assert!(took < FAST, "/ready took {took:?}");
    let (health, took) = timed(&app, Method::GET, "/health", None).await;
    eprintln!("GET /health: {} in {took:?}", health.status);
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["status"], "fail");
    assert_eq!(health.json()["database"], "fail");
    assert!(took < FAST, "/health took {took:?}");
    let (live, took) = timed(&app, Method::GET, "/live", None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert!(took < FAST, "/live took {took:?}");
    let metrics = get_now(&app, "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK, "/metrics needs no database");

    // The cached link still answers after all those failures, and it queued its clicks.
    let again = get_now(&app, &format!("/{cached_code}")).await;
    assert_eq!(again.status, StatusCode::FOUND);
    assert_eq!(app.state.metrics.clicks_enqueued.get(), 3);
    assert_eq!(app.state.metrics.clicks_dropped.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_postgres_returns_everything_recovers_without_a_restart() {
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let link = app.shorten("https://example.com/later").await;
    let code = link["short_code"].as_str().unwrap().to_owned();

    stop(&pg);
    assert_eq!(
        get_now(&app, "/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get_now(&app, &format!("/{code}")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    start_again(&pg);

    let app = &app;
    let ((), took) = poll("/ready answers 200 again", Duration::from_secs(15), move || async move {
        (get_now(app, "/ready").await.status == StatusCode::OK).then_some(())
    })
    .await;
    eprintln!("recovery: /ready is 200 {took:?} after Postgres accepted connections again");
    let health = get_now(app, "/health").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");

    // The error was not cached: the link redirects now.
    let path = &format!("/{code}");
    let ((), took) = poll(
        "the uncached link redirects again",
        Duration::from_secs(15),
        move || async move {
            let response = get_now(app, path).await;
            assert_ne!(
                response.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{response:?}"
            );
            (response.status == StatusCode::FOUND).then_some(())
        },
    )
    .await;
    eprintln!("recovery: the uncached link redirected {took:?} after /ready");
    assert_eq!(
        get_now(app, path).await.header("location"),
        Some("https://example.com/later")
    );

    // Writes succeed, and what they write is served.
    let user = app.create_user("alice", "alice@example.com").await;
    let created = app
        .create_link(json!({"original_url": "https://example.com/after", "user_id": user["id"]}))
        .await;
    let updated = app
        .update_link(
            &link["id"],
            json!({"original_url": "https://example.com/moved"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(updated["original_url"], "https://example.com/moved");
    let moved = get_now(app, path).await;
    assert_eq!(moved.status, StatusCode::FOUND);
    assert_eq!(moved.header("location"), Some("https://example.com/moved"));
    let fresh = get_now(
        app,
        &format!("/{}", created["short_code"].as_str().unwrap()),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::FOUND);
    app.state.clicks.flush().await;
    assert_eq!(click_events(&app.pool, &link["id"]).await, 3);
    assert_eq!(click_events(&app.pool, &created["id"]).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_click_is_lost_across_a_postgres_restart_within_capacity() {
    const N: u64 = 200;
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let link = cached_link(&app, "https://example.com/popular").await;
    let path = format!("/{}", link["short_code"].as_str().unwrap());
    let metrics = app.state.metrics.clone();

    stop(&pg);
    let started = Instant::now();
    for i in 0..N {
        let response = get_now(&app, &path).await;
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "redirect {i} with Postgres down"
        );
    }
    eprintln!(
        "{N} redirects with Postgres down took {:?}",
        started.elapsed()
    );
    // The writer tries while Postgres is down, and fails once the pool's acquire timeout
    // (500 ms) has passed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.click_flush_failures.get() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics.click_flush_failures.get() > 0,
        "the writer tried while Postgres was down"
    );
    assert_eq!(metrics.clicks_enqueued.get(), N);
    assert_eq!(metrics.clicks_dropped.get(), 0);
    assert_eq!(metrics.click_queue_depth.get(), N as i64, "held clicks");
    assert_eq!(metrics.clicks_written.get(), 0);

    start_again(&pg);
    let restarted = Instant::now();
    let (_, took) = poll(
        "every held click is written",
        Duration::from_secs(20),
        || clicks_reached(&app.pool, &link["id"], N as i64),
    )
    .await;
    eprintln!(
        "held clicks written {took:?} after Postgres returned ({} failed batch writes meanwhile)",
        metrics.click_flush_failures.get()
    );
    assert!(restarted.elapsed() < Duration::from_secs(20));
    app.state.clicks.flush().await;
    assert_eq!(
        click_events(&app.pool, &link["id"]).await,
        N as i64,
        "no duplicates"
    );
    assert_eq!(click_count(&app.pool, &link["id"]).await, N as i64);
    let stats = app.link_stats(&link["id"]).await.expect(StatusCode::OK);
    assert_eq!(stats["clicks"], N);
    assert_eq!(metrics.clicks_written.get(), N);
    assert_eq!(metrics.click_queue_depth.get(), 0);
    assert_eq!(metrics.clicks_dropped.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_capacity_clicks_are_dropped_and_counted_without_blocking_redirects() {
    let (pg, pool) = private_database().await;
    let settings = AppSettings {
        clicks: ClickSettings {
            capacity: 50,
            max_batch: 10,
            flush_interval: Duration::from_millis(50),
        },
        ..AppSettings::default()
    };
    let app = start_app(pool, settings).await;
    let link = cached_link(&app, "https://example.com/viral").await;
    let path = format!("/{}", link["short_code"].as_str().unwrap());
    let metrics = app.state.metrics.clone();

    stop(&pg);
    let started = Instant::now();
    for i in 0..200 {
        let response = get_now(&app, &path).await;
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "redirect {i} with a full queue"
        );
    }
    let took = started.elapsed();
    let (enqueued, dropped) = (metrics.clicks_enqueued.get(), metrics.clicks_dropped.get());
    eprintln!(
        "200 redirects with Postgres down and capacity 50 took {took:?}: {enqueued} held, {dropped} dropped"
    );
    assert!(took < Duration::from_secs(5), "redirects waited: {took:?}");
    assert!(dropped >= 140, "dropped {dropped}");
    assert!(enqueued <= 50, "held {enqueued}, beyond the capacity");
    assert_eq!(enqueued + dropped, 200);
    assert_eq!(metrics.click_queue_depth.get(), enqueued as i64);
    let exposition = get_now(&app, "/metrics").await;
    let text = String::from_utf8_lossy(&exposition.body);
    assert!(
        text.lines()
            .any(|line| line == format!("shortener_clicks_dropped_total {dropped}")),
        "/metrics shows the drops"
    );

    // What was held is written once Postgres is back; what was dropped is gone.
    start_again(&pg);
    let held = enqueued as i64;
    poll(
        "the held clicks are written",
        Duration::from_secs(20),
        || clicks_reached(&app.pool, &link["id"], held),
    )
    .await;
    app.state.clicks.flush().await;
    assert_eq!(click_events(&app.pool, &link["id"]).await, held);
    assert_eq!(click_count(&app.pool, &link["id"]).await, held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_reach_a_second_instance_after_a_postgres_restart() {
    let (pg, pool) = private_database().await;
    let writer = start_app(pool, AppSettings::default()).await;
    let reader = start_app(connect(&pg).await, AppSettings::default()).await;
    let before = l1_invalidations(&reader);
    let link = writer.shorten("https://example.com/v1").await;
    let code = link["short_code"].as_str().unwrap();
    let path = format!("/{code}");
    wait_for_invalidations(&reader, before + 1).await;

    stop(&pg);
    // Both listeners notice the lost connection...
    for app in [&writer, &reader] {
        poll("the listener noticed the outage", Duration::from_secs(10), move || async move {
            (!app.app.wait_for_invalidations(Duration::ZERO).await).then_some(())
        })
        .await;
    }
    start_again(&pg);
    // ...and subscribe again by themselves.
    let started = Instant::now();
    for app in [&writer, &reader] {
        assert!(
            app.app
                .wait_for_invalidations(Duration::from_secs(15))
                .await,
            "the listener did not resubscribe"
        );
    }
    eprintln!(
        "listeners resubscribed {:?} after Postgres returned",
        started.elapsed()
    );

    // The reader holds v1 in its in-process cache (60 s): only a notification can evict it.
    let (reader, path) = (&reader, &path);
    poll("the reader redirects again", Duration::from_secs(15), move || async move {
        (get_now(reader, path).await.status == StatusCode::FOUND).then_some(())
    })
    .await;
    warm(reader, code).await;
    assert_eq!(
        get_now(reader, path).await.header("location"),
        Some("https://example.com/v1")
    );

    writer
        .update_link(
            &link["id"],
            json!({"original_url": "https://example.com/v2"}),
        )
        .await
        .expect(StatusCode::OK);
    let (_, took) = poll(
        "the reader redirects to the new URL",
        Duration::from_secs(10),
        move || async move {
            let location = get_now(reader, path)
                .await
                .header("location")
                .map(str::to_owned);
            (location.as_deref() == Some("https://example.com/v2")).then_some(())
        },
    )
    .await;
    eprintln!("the second instance followed the PUT after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_postgres_down_gives_up_after_the_drain_deadline_and_counts_the_loss() {
    let (pg, pool) = private_database().await;
    let settings = AppSettings {
        click_drain_deadline: Duration::from_secs(1),
        ..AppSettings::default()
    };
    let app = start_app(pool, settings).await;
    let link = cached_link(&app, "https://example.com/doomed").await;
    let path = format!("/{}", link["short_code"].as_str().unwrap());
    stop(&pg);
    for _ in 0..30 {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    let metrics = app.state.metrics.clone();
    let TestApp { app, .. } = app;
    let app = Arc::try_unwrap(app)
        .ok()
        .expect("the test holds the only handle");
    let started = Instant::now();
    app.shutdown().await;
    let took = started.elapsed();
    eprintln!("shutdown with Postgres down and 30 queued clicks took {took:?}");
    assert!(took < Duration::from_secs(5), "shutdown hung: {took:?}");
    assert_eq!(
        metrics.clicks_dropped.get(),
        30,
        "the lost clicks are counted"
    );
    assert_eq!(metrics.clicks_written.get(), 0);
}

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tracing_subscriber::fmt::MakeWriter<'_> for Captured {
    type Writer = Self;

    fn make_writer(&self) -> Self {
        self.clone()
    }
}

// A current-thread runtime: the app's tasks run on this thread, so the thread's log
// subscriber sees their lines and no other test's.
#[tokio::test]
async fn dropped_clicks_are_logged_while_postgres_is_still_down() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let (pg, pool) = private_database().await;
    let settings = AppSettings {
        clicks: ClickSettings {
            capacity: 20,
            max_batch: 10,
            flush_interval: Duration::from_millis(50),
        },
        ..AppSettings::default()
    };
    let app = start_app(pool, settings).await;
    let started = Instant::now();
    let link = cached_link(&app, "https://example.com/hot").await;
    let path = format!("/{}", link["short_code"].as_str().unwrap());

    stop(&pg);
    for _ in 0..100 {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    let dropped = app.state.metrics.clicks_dropped.get();
    assert!(dropped >= 80, "dropped {dropped}");
    // The drop log is written at most once per 10 s; the first interval began when the
    // app started.
    let limit = Duration::from_secs(15).saturating_sub(started.elapsed());
    let deadline = Instant::now() + limit;
    while !logs.text().contains("click queue full") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = logs.text();
    assert!(
        text.contains("writing clicks failed"),
        "the app's log lines are captured: {text}"
    );
    let lines: Vec<_> = text
        .lines()
        .filter(|line| line.contains("click queue full"))
        .collect();
    eprintln!(
        "{} drop log line(s) {:?} after the app started, Postgres still down",
        lines.len(),
        started.elapsed()
    );
    assert_eq!(lines.len(), 1, "one line per interval: {lines:?}");
    assert!(
        lines[0].contains(&format!("dropped={dropped}")),
        "{}",
        lines[0]
    );
}
