//! Clicks through a Postgres outage: held within capacity and written once it returns,
//! dropped beyond it (counted and logged), given up on at shutdown after the drain deadline.

use super::*;
use crate::helpers::bodies::LinkStats;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_click_is_lost_across_a_postgres_restart_within_capacity() {
    const N: u64 = 200;
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let link = cached_link(&app, "https://example.com/popular").await;
    let path = format!("/{}", link.short_code);
    let metrics = app.state.metrics().clone();

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
        || clicks_reached(&app.pool, link.id, N as i64),
    )
    .await;
    eprintln!(
        "held clicks written {took:?} after Postgres returned ({} failed batch writes meanwhile)",
        metrics.click_flush_failures.get()
    );
    assert!(restarted.elapsed() < Duration::from_secs(20));
    app.clicks().flush().await;
    assert_eq!(
        click_events(&app.pool, link.id).await,
        N as i64,
        "no duplicates"
    );
    assert_eq!(click_count(&app.pool, link.id).await, N as i64);
    let stats: LinkStats = app.link_stats(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, N as i64);
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
            spill: None,
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    };
    let app = start_app(pool, settings).await;
    let link = cached_link(&app, "https://example.com/viral").await;
    let path = format!("/{}", link.short_code);
    let metrics = app.state.metrics().clone();

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
        || clicks_reached(&app.pool, link.id, held),
    )
    .await;
    app.clicks().flush().await;
    assert_eq!(click_events(&app.pool, link.id).await, held);
    assert_eq!(click_count(&app.pool, link.id).await, held);
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
    let path = format!("/{}", link.short_code);
    stop(&pg);
    for _ in 0..30 {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    let metrics = app.state.metrics().clone();
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
            spill: None,
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    };
    let app = start_app(pool, settings).await;
    let started = Instant::now();
    let link = cached_link(&app, "https://example.com/hot").await;
    let path = format!("/{}", link.short_code);

    stop(&pg);
    for _ in 0..100 {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    let dropped = app.state.metrics().clicks_dropped.get();
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
