//! The click writer's statements against real Postgres: two writers (two replicas) on the
//! same hot links never deadlock and count every click exactly once, in the events, the
//! counters and the rollups; a batch whose commit's answer is lost is not written twice;
//! clicks are attributed to the link's owner; clicks of a link whose row is gone are
//! rejected, counted and not retried.

use std::time::Duration;

use crate::helpers::write_classified;
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::json;
use shortener_clicks::ClickSettings;
use shortener_domain::Click;
use shortener_server::replica::AppSettings;
use shortener_service::destination_health::HealthSettings;
use shortener_service::rollups::FoldSettings;
use shortener_service::webhook_delivery::WebhookSettings;
use shortener_store::clicks::BatchWrite;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::TestApp;
use crate::helpers::bodies::LinkStats;

const HOT_LINKS: i64 = 10;
const ROUNDS: usize = 100;

fn clicks_on(ids: &[i64], per_link: usize) -> Vec<Click> {
    let mut clicks = Vec::new();
    for _ in 0..per_link {
        for &url_id in ids {
            clicks.push(Click {
                url_id,
                at: Utc::now(),
                referrer: Some("https://news.example".to_owned()),
                ..Click::default()
            });
        }
    }
    clicks
}

#[sqlx::test]
async fn two_writers_on_the_same_hot_links_never_deadlock_and_count_every_click(pool: PgPool) {
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO urls (short_code, original_url) \
         SELECT 'hot' || g, 'https://example.com/' || g FROM generate_series(1, $1) g RETURNING id",
    )
    .bind(HOT_LINKS)
    .fetch_all(&pool)
    .await
    .unwrap();
    // Each writer sends its batches in a different link order, as two replicas' queues do.
    let writer = |mut order: Vec<i64>, reverse: bool| {
        let pool = pool.clone();
        if reverse {
            order.reverse();
        }
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut stored = 0;
            for round in 0..ROUNDS {
                let shift = round % order.len();
                order.rotate_left(shift);
                let id = (i64::from(reverse) << 32) | round as i64;
                match write_classified(&mut conn, id + 1, &clicks_on(&order, 3)).await? {
                    BatchWrite::Written { stored: now, .. } => stored += now,
                    BatchWrite::AlreadyWritten => panic!("each batch has an id of its own"),
                }
            }
            Ok::<u64, sqlx::Error>(stored)
        })
    };
    let (first, second) = tokio::join!(writer(ids.clone(), false), writer(ids.clone(), true));
    let (first, second) = (first.unwrap(), second.unwrap());
    let expected = (ROUNDS * 3 * ids.len()) as u64;
    assert_eq!(first.expect("writer 1 failed (a deadlock?)"), expected);
    assert_eq!(second.expect("writer 2 failed (a deadlock?)"), expected);

    let (counted, events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(clicks)::bigint FROM link_clicks_now), \
                (SELECT count(*) FROM events WHERE event_type = 'click')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (counted, events),
        (2 * expected as i64, 2 * expected as i64)
    );
}

#[sqlx::test]
async fn a_click_event_is_attributed_to_the_links_owner(pool: PgPool) {
    let app = TestApp::new(pool);
    let owner = app.create_user("owner", "owner@example.com").await;
    let owned = app
        .create_link(json!({"original_url": "https://example.com/o", "user_id": owner.id}))
        .await;
    let anonymous = app.shorten("https://example.com/a").await;
    for link in [&owned, &anonymous] {
        let code = &link.short_code;
        assert_eq!(app.get(&format!("/{code}")).await.status, StatusCode::FOUND);
    }
    let owned_clicks = app.events_of_type(owned.id, "click").await;
    assert_eq!(owned_clicks.len(), 1);
    assert_eq!(owned_clicks[0].user_id, Some(owner.id));
    let anonymous_clicks = app.events_of_type(anonymous.id, "click").await;
    assert_eq!(anonymous_clicks[0].user_id, None);
}

#[sqlx::test]
async fn two_replicas_on_one_hot_link_store_and_count_each_redirect_exactly_once(pool: PgPool) {
    const TASKS_PER_REPLICA: usize = 4;
    const REDIRECTS_PER_TASK: usize = 250;
    let replicas = [TestApp::new(pool.clone()), TestApp::new(pool.clone())];
    let link = replicas[0].shorten("https://example.com/hot").await;
    let path = format!("/{}", link.short_code);
    let mut tasks = tokio::task::JoinSet::new();
    for replica in &replicas {
        for _ in 0..TASKS_PER_REPLICA {
            let (replica, path) = (replica.clone(), path.clone());
            tasks.spawn(async move {
                let mut served = 0_i64;
                for _ in 0..REDIRECTS_PER_TASK {
                    let request = axum::http::Request::get(path.as_str())
                        .header("referer", "https://news.example")
                        .body(axum::body::Body::empty())
                        .unwrap();
                    if replica.send_now(request).await.status == StatusCode::FOUND {
                        served += 1;
                    }
                }
                served
            });
        }
    }
    let served: i64 = tasks.join_all().await.into_iter().sum();
    assert_eq!(served, (2 * TASKS_PER_REPLICA * REDIRECTS_PER_TASK) as i64);
    for replica in &replicas {
        replica.clicks().flush().await;
    }

    let id = link.id;
    let (events, counter, by_day, by_referrer): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE url_id = $1 AND event_type = 'click'), \
                (SELECT clicks FROM link_clicks_now WHERE url_id = $1), \
                (SELECT sum(clicks)::bigint FROM link_daily_clicks_now WHERE url_id = $1), \
                (SELECT sum(clicks)::bigint FROM link_referrer_hosts_now WHERE url_id = $1)",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (events, counter, by_day, by_referrer),
        (served, served, served, served)
    );
    let stats: LinkStats = replicas[1].link_stats(id).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, served);
    assert_eq!(stats.top_referrers[0].clicks, served);
    let listed = replicas[1]
        .get(&format!("/events?url_id={id}&event_type=click&per_page=1"))
        .await;
    assert_eq!(
        listed.header("x-total-count"),
        Some(served.to_string().as_str())
    );
    let written: u64 = replicas
        .iter()
        .map(|r| r.state.metrics().clicks_written.get())
        .sum();
    assert_eq!(written, served as u64);
}

/// An app whose writer waits for an explicit flush (the interval is far away).
fn app_holding_clicks(pool: PgPool) -> TestApp {
    let settings = AppSettings {
        clicks: ClickSettings {
            flush_interval: Duration::from_secs(600),
            ..ClickSettings::default()
        },
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

fn click(url_id: i64, user_agent: &str) -> Click {
    Click {
        url_id,
        at: Utc::now(),
        user_agent: Some(user_agent.to_owned()),
        ..Click::default()
    }
}

#[sqlx::test]
async fn clicks_of_a_link_removed_by_hand_are_rejected_and_the_rest_are_written(pool: PgPool) {
    let app = app_holding_clicks(pool.clone());
    let kept = app.shorten("https://example.com/kept").await;
    let doomed = app.shorten("https://example.com/doomed").await;
    for url_id in [kept.id, doomed.id, kept.id] {
        app.clicks().enqueue(click(url_id, "test"), None);
    }
    // An operator removes one link's row by hand before the batch is written.
    for statement in [
        "DELETE FROM events WHERE url_id = $1",
        "DELETE FROM urls WHERE id = $1",
    ] {
        sqlx::query(statement)
            .bind(doomed.id)
            .execute(&pool)
            .await
            .unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), app.clicks().flush())
        .await
        .expect("the writer stalled on the missing link");

    let metrics = &app.state.metrics();
    assert_eq!(metrics.clicks_written.get(), 2);
    assert_eq!(metrics.clicks_rejected.get(), 1);
    assert_eq!(metrics.click_queue_depth.get(), 0);
    assert_eq!(app.events_of_type(kept.id, "click").await.len(), 2);
}

#[sqlx::test]
async fn a_click_the_database_refuses_is_isolated_and_its_batch_neighbours_are_written(
    pool: PgPool,
) {
    let app = app_holding_clicks(pool);
    let link = app.shorten("https://example.com/busy").await;
    // jsonb cannot hold U+0000: Postgres refuses the value (SQLSTATE 22P05), for good.
    for user_agent in ["first", "nul \u{0} inside", "second", "third"] {
        app.clicks().enqueue(click(link.id, user_agent), None);
    }
    tokio::time::timeout(Duration::from_secs(10), app.clicks().flush())
        .await
        .expect("the writer retried the refused click for ever");

    let metrics = &app.state.metrics();
    assert_eq!(metrics.clicks_written.get(), 3);
    assert_eq!(metrics.clicks_rejected.get(), 1);
    assert_eq!(metrics.click_queue_depth.get(), 0);
    assert!(metrics.click_flush_failures.get() >= 1);
    let stored: Vec<_> = app
        .events_of_type(link.id, "click")
        .await
        .iter()
        .map(|event| event.details["user_agent"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, ["first", "second", "third"]);
    let stats: LinkStats = app
        .get(&format!("/urls/{}/stats", link.id))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, 3, "the counter agrees with the stored events");
}

/// A TCP proxy to Postgres that, once armed, lets the next `COMMIT` through to the server
/// but never lets its answer back: the client's connection is cut instead. The commit has
/// happened; the client cannot know (an ambiguous failure).
struct CommitAnswerCutter {
    port: u16,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

impl CommitAnswerCutter {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream.as_str()).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let cut = Arc::new(tokio::sync::Notify::new());
                let swallow = Arc::new(AtomicBool::new(false));
                let (flag, count, cut_up, swallow_up) =
                    (flag.clone(), count.clone(), cut.clone(), swallow.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0; 64 * 1024];
                    while let Ok(read) = client_read.read(&mut buffer).await {
                        if read == 0 {
                            return;
                        }
                        let commit = buffer[..read].windows(6).any(|w| w == b"COMMIT");
                        let cutting = commit && flag.swap(false, Ordering::SeqCst);
                        if cutting {
                            // Nothing the server says from here on reaches the client.
                            swallow_up.store(true, Ordering::SeqCst);
                        }
                        if server_write.write_all(&buffer[..read]).await.is_err() {
                            return;
                        }
                        if cutting {
                            count.fetch_add(1, Ordering::SeqCst);
                            // Let the server commit, then cut the client off.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            cut_up.notify_one();
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buffer = vec![0; 64 * 1024];
                    loop {
                        let read = tokio::select! {
                            () = cut.notified() => return,
                            read = server_read.read(&mut buffer) => read,
                        };
                        match read {
                            Ok(read) if read > 0 => {
                                if swallow.load(Ordering::SeqCst) {
                                    continue;
                                }
                                if client_write.write_all(&buffer[..read]).await.is_err() {
                                    return;
                                }
                            }
                            _ => return,
                        }
                    }
                });
            }
        });
        Self { port, armed, cuts }
    }
}

/// The contract's "counted once": the writer's batch commits, its answer is lost, and the
/// retry (an I/O error is transient) finds the batch's id and writes nothing again.
#[sqlx::test]
async fn a_batch_whose_commit_answer_is_lost_is_counted_once(pool: PgPool) {
    let url = crate::helpers::database_url_of(&pool);
    let mut options: PgConnectOptions = url.parse().unwrap();
    let upstream = format!("{}:{}", options.get_host(), options.get_port());
    let proxy = CommitAnswerCutter::start(upstream).await;
    // Plain text, so the proxy can see the COMMIT go by.
    options = options
        .host("127.0.0.1")
        .port(proxy.port)
        .ssl_mode(PgSslMode::Disable);
    let proxied = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let app = TestApp::with_settings(
        proxied,
        AppSettings {
            clicks: ClickSettings {
                flush_interval: Duration::from_secs(600),
                ..ClickSettings::default()
            },
            // The fold and the webhook worker commit too: only their first runs at start,
            // which pass before the cut. The destination checker is off.
            fold: FoldSettings {
                interval: Duration::from_secs(600),
            },
            webhooks: WebhookSettings {
                poll_interval: Duration::from_secs(600),
                ..WebhookSettings::default()
            },
            health: HealthSettings {
                interval: Duration::ZERO,
                ..HealthSettings::default()
            },
            ..AppSettings::default()
        },
    );
    let link = app.shorten("https://example.com/once").await;
    const N: usize = 250;
    for _ in 0..N {
        app.clicks().enqueue(click(link.id, "test"), None);
    }
    // The only other commits after start are the upkeep's, the fold's and the webhook
    // worker's first runs: let them pass first.
    let fold_done = || {
        app.state
            .metrics()
            .click_folds
            .with_label_values(&["done"])
            .get()
    };
    let upkeep_done = || {
        app.state
            .metrics()
            .upkeep_runs
            .with_label_values(&["done"])
            .get()
            + app
                .state
                .metrics()
                .upkeep_runs
                .with_label_values(&["skipped"])
                .get()
    };
    let webhook_claims = || {
        app.state
            .metrics()
            .db
            .operation("webhooks.claim")
            .get_sample_count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while (upkeep_done() == 0 || fold_done() == 0 || webhook_claims() == 0)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(upkeep_done(), 1, "the upkeep ran once at start");
    assert_eq!(fold_done(), 1, "the fold ran once at start");
    assert_eq!(
        webhook_claims(),
        1,
        "the webhook worker claimed once at start"
    );
    proxy.armed.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(30), app.clicks().flush())
        .await
        .expect("the writer gave up");

    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the commit's answer was lost"
    );
    let metrics = app.state.metrics();
    assert!(
        metrics.click_flush_failures.get() >= 1,
        "the writer saw the failure and retried"
    );
    let (events, counted, batches): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE url_id = $1 AND event_type = 'click'), \
                (SELECT coalesce(sum(clicks), 0)::bigint FROM link_clicks_now WHERE url_id = $1), \
                (SELECT count(*) FROM click_batches)",
    )
    .bind(link.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((events, counted), (N as i64, N as i64), "each click once");
    assert_eq!(batches, 1, "one batch, committed once");
    assert_eq!(metrics.clicks_written.get(), N as u64);
}

/// Click events carry no foreign key (the writer joins the link in the same statement):
/// a link removed by hand takes its clicks and its rollups with it, and its totals go
/// down.
#[sqlx::test]
async fn a_link_removed_by_hand_takes_its_clicks_and_their_totals_with_it(pool: PgPool) {
    let app = app_holding_clicks(pool.clone());
    let kept = app.shorten("https://example.com/kept").await;
    let removed = app.shorten("https://example.com/removed").await;
    for url_id in [kept.id, removed.id, removed.id] {
        app.clicks().enqueue(click(url_id, "test"), None);
    }
    app.clicks().flush().await;
    let total = |query: String| {
        let app = app.clone();
        async move {
            let response = app.get(&format!("/events?{query}")).await;
            response.expect(StatusCode::OK);
            response.header("x-total-count").unwrap().to_owned()
        }
    };
    assert_eq!(total("event_type=click".into()).await, "3");
    for statement in [
        "DELETE FROM events WHERE url_id = $1 AND event_type <> 'click'",
        "DELETE FROM urls WHERE id = $1",
    ] {
        sqlx::query(statement)
            .bind(removed.id)
            .execute(&pool)
            .await
            .unwrap();
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE url_id = $1")
        .bind(removed.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "its clicks went with it");
    let rollups: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM link_clicks WHERE url_id = $1) \
              + (SELECT count(*) FROM link_daily_clicks WHERE url_id = $1) \
              + (SELECT count(*) FROM link_referrer_hosts WHERE url_id = $1) \
              + (SELECT count(*) FROM click_deltas WHERE url_id = $1)",
    )
    .bind(removed.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        rollups, 0,
        "and its total, days, referrers and pending deltas"
    );
    assert_eq!(total("event_type=click".into()).await, "1");
    assert_eq!(
        total(format!("url_id={}&event_type=click", kept.id)).await,
        "1"
    );
}
