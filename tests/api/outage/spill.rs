//! The click spill through a Postgres outage: clicks the writer cannot take go to disk,
//! a shutdown while Postgres is still down keeps every one of them there, and the next
//! replica on the same directory replays them once Postgres is back: nothing accepted is
//! lost, nothing is counted twice. A full spill drops what it cannot take, counted.

use axum::Router;
use shortener_clicks::SpillSettings;
use shortener_server::replica::Replica;
use tower::ServiceExt;

use super::*;

fn with_spill(dir: &std::path::Path, max_bytes: u64) -> AppSettings {
    AppSettings {
        clicks: ClickSettings {
            spill: Some(SpillSettings {
                dir: dir.to_owned(),
                replica: "test".to_owned(),
                max_bytes,
            }),
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    }
}

async fn follow(router: &Router, code: &str) -> StatusCode {
    router
        .clone()
        .oneshot(request(Method::GET, &format!("/{code}"), None))
        .await
        .unwrap()
        .status()
}

/// Clicks counted for the link in its rollup, and its click events.
async fn stored(pool: &PgPool, url_id: i64) -> (i64, i64) {
    let counted: Option<i64> =
        sqlx::query_scalar("SELECT sum(clicks)::bigint FROM link_clicks_now WHERE url_id = $1")
            .bind(url_id)
            .fetch_one(pool)
            .await
            .unwrap();
    (counted.unwrap_or(0), click_events(pool, url_id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_taken_while_postgres_is_down_survive_a_shutdown_and_are_written_once_by_the_next_replica()
 {
    const N: u64 = 500;
    let spill_dir = tempfile::tempdir().unwrap();
    let (pg, pool) = private_database().await;
    let first = Replica::start(pool.clone(), with_spill(spill_dir.path(), 64 << 20)).unwrap();
    assert!(first.wait_for_invalidations(Duration::from_secs(10)).await);
    let router = first.router();
    let created = router
        .clone()
        .oneshot(request(
            Method::POST,
            "/urls",
            Some(json!({"original_url": "https://example.com/outage"})),
        ))
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body = axum::body::to_bytes(created.into_body(), 1 << 20)
        .await
        .unwrap();
    let link: Link = serde_json::from_slice(&body).unwrap();
    // The create's own eviction, then its trigger's notification, before caching it (so
    // no late notification evicts it again).
    let evictions = || {
        first
            .metrics()
            .cache_invalidations
            .with_label_values(&["l1"])
            .get()
    };
    poll(
        "the create's notification arrived",
        Duration::from_secs(10),
        || async { (evictions() >= 2).then_some(()) },
    )
    .await;
    // Cached, so redirects need no Postgres.
    assert_eq!(follow(&router, &link.short_code).await, StatusCode::FOUND);
    first.clicks().flush().await;

    stop(&pg);
    for i in 0..N {
        assert_eq!(
            follow(&router, &link.short_code).await,
            StatusCode::FOUND,
            "redirect {i}"
        );
    }
    let metrics = first.metrics().clone();
    // SIGTERM's path: the drain gets a second, Postgres stays down through it.
    first.shutdown_within(Duration::from_secs(1)).await;
    assert_eq!(metrics.clicks_enqueued.get(), N + 1);
    assert_eq!(metrics.clicks_dropped.get(), 0, "nothing dropped");
    assert_eq!(
        metrics.clicks_written.get(),
        1,
        "only the click before the outage"
    );
    assert_eq!(
        metrics.spill.spilled.get(),
        N,
        "every click taken during the outage is on disk"
    );
    assert_eq!(metrics.click_queue_depth.get(), 0, "none left in memory");

    start_again(&pg);
    let second = Replica::start(pool.clone(), with_spill(spill_dir.path(), 64 << 20)).unwrap();
    let (_, took) = poll(
        "the spilled clicks are written",
        Duration::from_secs(20),
        || async {
            let (counted, events) = stored(&pool, link.id).await;
            (counted == N as i64 + 1 && events == N as i64 + 1).then_some(())
        },
    )
    .await;
    eprintln!("{N} spilled clicks replayed {took:?} after the second replica started");
    assert_eq!(second.metrics().spill.replayed.get(), N);
    assert_eq!(second.metrics().spill.bytes.get(), 0, "the spill is empty");
    let leftover: Vec<_> = std::fs::read_dir(spill_dir.path().join("test"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".spill"))
        .collect();
    assert!(leftover.is_empty(), "segments left: {leftover:?}");
    second.shutdown().await;

    // A third start finds nothing to replay, and nothing is counted twice.
    let third = Replica::start(pool.clone(), with_spill(spill_dir.path(), 64 << 20)).unwrap();
    third.clicks().flush().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored(&pool, link.id).await, (N as i64 + 1, N as i64 + 1));
    assert_eq!(third.metrics().spill.replayed.get(), 0);
    third.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_spill_twice_writes_each_batch_once() {
    const N: u64 = 300;
    let spill_dir = tempfile::tempdir().unwrap();
    let (pg, pool) = private_database().await;
    let app = start_app(pool.clone(), with_spill(spill_dir.path(), 64 << 20)).await;
    let link = cached_link(&app, "https://example.com/twice").await;
    let path = format!("/{}", link.short_code);
    stop(&pg);
    for _ in 0..N {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    // Copy the spill as it is on disk: the same batches, with the same ids.
    let spilled = poll(
        "the clicks are spilled",
        Duration::from_secs(10),
        || async { (app.state.metrics().spill.spilled.get() == N).then_some(()) },
    );
    spilled.await;
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir(copy.path().join("test")).unwrap();
    for entry in std::fs::read_dir(spill_dir.path().join("test")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() == Some("spill".as_ref()) {
            std::fs::copy(
                &path,
                copy.path().join("test").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    start_again(&pg);
    poll("the spill is written", Duration::from_secs(20), || async {
        (stored(&pool, link.id).await == (N as i64, N as i64)).then_some(())
    })
    .await;
    drop(app);

    // A replica handed the copy replays it: every batch id is found, nothing is added.
    let other = Replica::start(pool.clone(), with_spill(copy.path(), 64 << 20)).unwrap();
    poll("the copy is replayed", Duration::from_secs(20), || async {
        (other.metrics().spill.replayed.get() == N).then_some(())
    })
    .await;
    assert_eq!(stored(&pool, link.id).await, (N as i64, N as i64));
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spill_drops_what_it_cannot_take_and_counts_it() {
    const N: u64 = 2000;
    let spill_dir = tempfile::tempdir().unwrap();
    let (pg, pool) = private_database().await;
    let mut settings = with_spill(spill_dir.path(), 16 * 1024);
    settings.clicks.max_batch = 100;
    let app = start_app(pool.clone(), settings).await;
    let link = cached_link(&app, "https://example.com/full").await;
    let path = format!("/{}", link.short_code);
    stop(&pg);
    let started = Instant::now();
    for _ in 0..N {
        assert_eq!(get_now(&app, &path).await.status, StatusCode::FOUND);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "redirects waited"
    );
    let metrics = app.state.metrics().clone();
    let (_, _) = poll("every click is placed", Duration::from_secs(10), || async {
        let placed = metrics.spill.spilled.get() + metrics.spill.dropped.get();
        // What the writer holds in memory (its batch in flight) is neither.
        (placed + metrics.click_queue_depth.get() as u64 >= N && metrics.spill.dropped.get() > 0)
            .then_some(())
    })
    .await;
    assert!(metrics.spill.bytes.get() <= 16 * 1024);
    assert_eq!(
        metrics.clicks_dropped.get(),
        metrics.spill.dropped.get(),
        "spill drops count as drops"
    );
    start_again(&pg);
    let dropped = metrics.spill.dropped.get();
    poll(
        "what was kept is written",
        Duration::from_secs(20),
        || async {
            let (counted, events) = stored(&pool, link.id).await;
            (counted == events && events == (N - dropped) as i64).then_some(())
        },
    )
    .await;
}
