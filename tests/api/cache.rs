//! The redirect cache across tiers and replicas: L1 → L2 (a private redis-server) → Postgres,
//! negative caching, invalidation seen by a second replica, expiry from cache, the Redis
//! circuit breaker with Redis killed or hung, and the generation that keeps a stale Redis
//! entry from coming back.

use std::time::{Duration, Instant};

use crate::helpers::servers::RedisServer;
use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use shortener::cache::{BreakerState, CacheSettings, RedisSettings};
use shortener::replica::AppSettings;
use sqlx::PgPool;

const COMMAND_TIMEOUT: Duration = Duration::from_millis(50);
const BREAKER_COOLDOWN: Duration = Duration::from_millis(300);
/// How long another replica may take to see a write in these tests (the contract says a few
/// milliseconds; the margin is for a loaded machine).
const PROPAGATION: Duration = Duration::from_secs(2);
/// Deadline for anything else that is polled.
const DEADLINE: Duration = Duration::from_secs(5);

/// Settings with the Redis tier on `redis`: strict timeouts, breaker after 3 failures.
fn settings(redis: &RedisServer) -> AppSettings {
    AppSettings {
        cache: CacheSettings {
            redis: Some(RedisSettings {
                url: redis.url(),
                pool_size: 4,
                connect_timeout: Duration::from_millis(100),
                command_timeout: COMMAND_TIMEOUT,
                breaker_failures: 3,
                breaker_cooldown: BREAKER_COOLDOWN,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// One replica over the shared database and Redis, listening for invalidations.
async fn replica(pool: &PgPool, redis: &RedisServer) -> TestApp {
    let app = TestApp::with_settings(pool.clone(), settings(redis));
    assert!(
        app.app.wait_for_invalidations(DEADLINE).await,
        "the invalidation listener did not subscribe"
    );
    app
}

fn lookups(app: &TestApp, tier: &str, result: &str) -> u64 {
    app.state
        .metrics
        .cache_lookups
        .with_label_values(&[tier, result])
        .get()
}

/// Lookups that reached Postgres, found or not.
fn db_lookups(app: &TestApp) -> u64 {
    lookups(app, "db", "hit") + lookups(app, "db", "negative_hit")
}

fn invalidations(app: &TestApp, kind: &str) -> u64 {
    app.state
        .metrics
        .cache_invalidations
        .with_label_values(&[kind])
        .get()
}

fn transitions(app: &TestApp, to: &str) -> u64 {
    app.state
        .metrics
        .breaker_transitions
        .with_label_values(&[to])
        .get()
}

fn redis_calls(app: &TestApp) -> u64 {
    app.state.metrics.redis_command_seconds.get_sample_count()
}

fn breaker(app: &TestApp) -> BreakerState {
    app.state
        .cache
        .shared()
        .expect("Redis tier")
        .breaker_state()
}

fn generation(app: &TestApp) -> i64 {
    app.state.cache.shared().expect("Redis tier").generation()
}

async fn db_generation(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT generation FROM cache_state")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn redis_key(generation: i64, code: &str) -> String {
    format!("shortener:link:{generation}:{code}")
}

async fn redirect(app: &TestApp, code: &str) -> TestResponse {
    app.get(&format!("/{code}")).await
}

/// A redirect request that does not wait for queued clicks first.
fn redirect_request(code: &str) -> Request<Body> {
    Request::get(format!("/{code}"))
        .body(Body::empty())
        .unwrap()
}

#[track_caller]
fn assert_redirects_to(response: &TestResponse, location: &str) {
    assert_eq!(
        response.status,
        StatusCode::FOUND,
        "body: {}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("location"), Some(location));
}

fn code_of(link: &Value) -> String {
    link["short_code"].as_str().unwrap().to_owned()
}

/// Polls `check` every 10 ms until it holds; panics after `deadline`. Returns the time it took.
async fn eventually(
    what: &str,
    deadline: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// L1 evictions applied so far by each replica.
fn evictions(apps: &[&TestApp]) -> Vec<u64> {
    apps.iter().map(|app| invalidations(app, "l1")).collect()
}

/// Waits until every replica has applied the invalidation of one changed link written by
/// `apps[0]`: the writer evicts before answering and again when it hears its own NOTIFY, the
/// others once. Until then a redirect's database read may overlap the invalidation, and is
/// then (rightly) not cached, which would blur the counts these tests assert.
async fn settle(apps: &[&TestApp], before: &[u64]) {
    eventually(
        "every replica applied the invalidation",
        DEADLINE,
        async || {
            apps.iter()
                .zip(before)
                .enumerate()
                .all(|(i, (app, before))| {
                    invalidations(app, "l1") >= before + if i == 0 { 2 } else { 1 }
                })
        },
    )
    .await;
}

/// Creates a link on `apps[0]` and waits until every replica has heard of it.
async fn create_settled(apps: &[&TestApp], body: Value) -> Value {
    let before = evictions(apps);
    let link = apps[0].create_link(body).await;
    settle(apps, &before).await;
    link
}

/// Redirects `code` twice on `app` and checks the second answer came from L1.
async fn cache_on(app: &TestApp, code: &str, location: &str) {
    assert_redirects_to(&redirect(app, code).await, location);
    let hits = lookups(app, "l1", "hit");
    assert_redirects_to(&redirect(app, code).await, location);
    assert_eq!(lookups(app, "l1", "hit"), hits + 1, "{code} is not in L1");
}

#[sqlx::test]
async fn first_redirect_misses_both_tiers_and_fills_them_then_l1_answers_without_the_db(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let app = replica(&pool, &redis).await;
    let url = "https://example.com/first";
    let code = code_of(&create_settled(&[&app], json!({"original_url": url})).await);
    let key = redis_key(generation(&app), &code);
    assert_eq!(redis.cli(&["EXISTS", &key]), "0", "nothing cached before");

    assert_redirects_to(&redirect(&app, &code).await, url);
    assert_eq!(lookups(&app, "l1", "miss"), 1);
    assert_eq!(lookups(&app, "l2", "miss"), 1);
    assert_eq!(lookups(&app, "db", "hit"), 1);
    assert_eq!(redis.cli(&["EXISTS", &key]), "1", "L2 filled under {key}");
    assert!(redis.cli(&["GET", &key]).contains(url));

    assert_redirects_to(&redirect(&app, &code).await, url);
    assert_eq!(lookups(&app, "l1", "hit"), 1);
    assert_eq!(lookups(&app, "l1", "miss"), 1);
    assert_eq!(lookups(&app, "l2", "miss"), 1, "L2 not asked again");
    assert_eq!(db_lookups(&app), 1, "no second database lookup");
}

#[sqlx::test]
async fn second_replica_first_redirect_is_an_l2_hit_without_a_db_lookup(pool: PgPool) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let url = "https://example.com/shared";
    let code = code_of(&create_settled(&[&a, &b], json!({"original_url": url})).await);

    assert_redirects_to(&redirect(&a, &code).await, url);
    assert_eq!(lookups(&a, "db", "hit"), 1);

    assert_redirects_to(&redirect(&b, &code).await, url);
    assert_eq!(lookups(&b, "l1", "miss"), 1);
    assert_eq!(lookups(&b, "l2", "hit"), 1);
    assert_eq!(db_lookups(&b), 0, "replica 2 must not read the database");
    assert_eq!(db_lookups(&a), 1);
}

#[sqlx::test]
async fn unknown_code_is_looked_up_in_the_db_once_then_answered_404_from_the_negative_cache(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let app = replica(&pool, &redis).await;
    let code = "nosuch1";

    redirect(&app, code)
        .await
        .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(lookups(&app, "db", "negative_hit"), 1);
    assert_eq!(
        redis.cli(&["EXISTS", &redis_key(generation(&app), code)]),
        "1",
        "the unknown code is remembered in L2 too"
    );
    for _ in 0..5 {
        redirect(&app, code)
            .await
            .expect_error(StatusCode::NOT_FOUND);
    }
    assert_eq!(db_lookups(&app), 1, "repeated unknown code reached the db");
    assert_eq!(lookups(&app, "l1", "negative_hit"), 5);
}

#[sqlx::test]
async fn custom_code_negative_cached_on_both_replicas_works_as_soon_as_it_is_created(pool: PgPool) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let code = "promo42";
    let url = "https://example.com/promo";

    redirect(&a, code).await.expect_error(StatusCode::NOT_FOUND);
    redirect(&b, code).await.expect_error(StatusCode::NOT_FOUND);
    assert_eq!(lookups(&a, "db", "negative_hit"), 1);
    assert_eq!(
        lookups(&b, "l2", "negative_hit"),
        1,
        "B saw A's answer in L2"
    );
    for app in [&a, &b] {
        redirect(app, code)
            .await
            .expect_error(StatusCode::NOT_FOUND);
        assert_eq!(
            lookups(app, "l1", "negative_hit"),
            1,
            "negative-cached in L1"
        );
    }

    a.create_link(json!({"original_url": url, "short_code": code}))
        .await;
    // At once: no yield to the listener between the write and this request.
    assert_redirects_to(&a.send_now(redirect_request(code)).await, url);
    let delay = eventually(
        "replica B redirects the new code",
        PROPAGATION,
        async || redirect(&b, code).await.status == StatusCode::FOUND,
    )
    .await;
    eprintln!("new custom code reached replica B after {delay:?}");
    assert_redirects_to(&redirect(&b, code).await, url);
}

/// Caches `code` (leading to `cached`) on both replicas, runs `write` on replica A, checks that
/// A's very next answer already shows it (`seen`), and polls B until it does; returns B's delay.
async fn propagation(
    a: &TestApp,
    b: &TestApp,
    code: &str,
    cached: &str,
    write: impl AsyncFnOnce(),
    seen: impl Fn(&TestResponse) -> bool,
) -> Duration {
    cache_on(a, code, cached).await;
    cache_on(b, code, cached).await;
    write().await;
    let own = a.send_now(redirect_request(code)).await;
    assert!(
        seen(&own),
        "the writing replica still answers {} {:?}",
        own.status,
        own.header("location")
    );
    eventually("replica B sees the write", PROPAGATION, async || {
        seen(&redirect(b, code).await)
    })
    .await
}

#[sqlx::test]
async fn updates_and_deletes_on_one_replica_are_seen_by_another_within_a_short_poll(pool: PgPool) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let apps = [&a, &b];
    let owner = a.create_user("owner", "owner@example.com").await;
    let old = "https://example.com/old";
    let new = "https://example.com/new";
    let changed = create_settled(&apps, json!({"original_url": old})).await;
    let deleted = create_settled(&apps, json!({"original_url": old})).await;
    let owned = create_settled(&apps, json!({"original_url": old, "user_id": owner["id"]})).await;
    let found = |url: &'static str| move |r: &TestResponse| r.header("location") == Some(url);
    let gone = |r: &TestResponse| r.status == StatusCode::NOT_FOUND;
    let changed_path = format!("/urls/{}", changed["id"]);
    let mut delays = Vec::new();

    let code = code_of(&changed);
    let put = async || {
        a.put_json(&changed_path, json!({"original_url": new}))
            .await
            .expect(StatusCode::OK);
    };
    delays.push((
        "PUT original_url",
        propagation(&a, &b, &code, old, put, found(new)).await,
    ));

    let put = async || {
        a.put_json(&changed_path, json!({"is_active": false}))
            .await
            .expect(StatusCode::OK);
    };
    delays.push((
        "PUT is_active=false",
        propagation(&a, &b, &code, new, put, gone).await,
    ));

    let delete = async || {
        a.delete_link(&deleted["id"])
            .await
            .expect(StatusCode::NO_CONTENT);
    };
    let delay = propagation(&a, &b, &code_of(&deleted), old, delete, gone).await;
    delays.push(("DELETE /urls/{id}", delay));

    let delete = async || {
        a.delete_user(&owner["id"])
            .await
            .expect(StatusCode::NO_CONTENT);
    };
    let delay = propagation(&a, &b, &code_of(&owned), old, delete, gone).await;
    delays.push(("DELETE /users/{owner}", delay));

    for (write, delay) in delays {
        eprintln!("{write}: replica B changed its answer after {delay:?}");
    }
    // Once seen, the new answer stays (no stale entry refilled from L2).
    redirect(&b, &code_of(&changed))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    redirect(&b, &code_of(&deleted))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn cached_link_past_its_expiry_answers_410_without_a_db_lookup(pool: PgPool) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let url = "https://example.com/soon-gone";
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let link = create_settled(
        &[&a, &b],
        json!({"original_url": url, "expires_at": expires_at.to_rfc3339()}),
    )
    .await;
    let code = code_of(&link);

    assert_redirects_to(&redirect(&a, &code).await, url);
    assert_eq!(db_lookups(&a), 1);

    let wait = (expires_at - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    redirect(&a, &code).await.expect_error(StatusCode::GONE);
    assert_eq!(lookups(&a, "l1", "hit"), 1, "answered from L1");
    assert_eq!(db_lookups(&a), 1, "no database lookup for the expired link");

    // A replica that only has it in L2 answers 410 as well.
    redirect(&b, &code).await.expect_error(StatusCode::GONE);
    assert_eq!(lookups(&b, "l2", "hit"), 1, "answered from L2");
    assert_eq!(db_lookups(&b), 0);
}

/// Creates `count` links on `app` (the only replica) and returns their codes and URLs.
async fn links(app: &TestApp, count: usize) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for i in 0..count {
        let url = format!("https://example.com/link/{i}");
        let link = create_settled(&[app], json!({"original_url": url})).await;
        links.push((code_of(&link), url));
    }
    links
}

#[sqlx::test]
async fn with_redis_killed_redirects_come_from_the_db_and_the_breaker_opens_then_closes_after_restart(
    pool: PgPool,
) {
    let mut redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let links = links(&a, 8).await;
    for (code, url) in &links {
        assert_redirects_to(&redirect(&a, code).await, url);
    }
    assert_eq!(lookups(&a, "db", "hit"), 8, "all cached in L2 now");

    redis.kill();
    let c = replica(&pool, &redis).await; // fresh L1
    let mut links = links.iter();
    for (code, url) in links.by_ref() {
        assert_redirects_to(&redirect(&c, code).await, url);
        if c.state.metrics.breaker_state.get() == 2 {
            break;
        }
        assert!(
            lookups(&c, "db", "hit") < 4,
            "breaker still closed after {} redirects",
            lookups(&c, "db", "hit")
        );
    }
    assert_eq!(breaker(&c), BreakerState::Open);
    assert_eq!(transitions(&c, "open"), 1);
    let opened_after = lookups(&c, "db", "hit");
    eprintln!("breaker opened after {opened_after} redirects");

    let calls = redis_calls(&c);
    let skipped = lookups(&c, "l2", "skipped");
    for (code, url) in links.by_ref().take(2) {
        assert_redirects_to(&redirect(&c, code).await, url);
    }
    assert_eq!(lookups(&c, "l2", "skipped"), skipped + 2);
    assert_eq!(
        redis_calls(&c),
        calls,
        "Redis was called with the breaker open"
    );
    assert_eq!(lookups(&c, "db", "hit"), opened_after + 2);
    assert_eq!(
        c.state
            .metrics
            .redirects
            .with_label_values(&["found"])
            .get(),
        opened_after + 2,
        "every redirect answered 302"
    );

    redis.restart();
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    let (code, url) = links.next().expect("a link left for the probe");
    assert_redirects_to(&redirect(&c, code).await, url);
    assert_eq!(transitions(&c, "half_open"), 1);
    assert_eq!(transitions(&c, "closed"), 1);
    assert_eq!(c.state.metrics.breaker_state.get(), 0);
    assert_eq!(
        lookups(&c, "l2", "miss"),
        1,
        "L2 asked again (empty after restart)"
    );
    assert_eq!(
        redis.cli(&["EXISTS", &redis_key(generation(&c), code)]),
        "1",
        "L2 filled again"
    );
}

#[sqlx::test]
async fn with_redis_hung_each_call_is_cut_at_the_timeout_and_the_breaker_opens_then_closes_after_resume(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let links = links(&a, 8).await;
    let mut links = links.iter();
    // Warm the pool so the hang meets an established connection.
    let (code, url) = links.next().unwrap();
    assert_redirects_to(&redirect(&a, code).await, url);

    redis.pause();
    let calls = redis_calls(&a);
    let seconds = a.state.metrics.redis_command_seconds.get_sample_sum();
    for (code, url) in links.by_ref() {
        let started = Instant::now();
        assert_redirects_to(&redirect(&a, code).await, url);
        assert!(
            started.elapsed() < DEADLINE,
            "a redirect waited {:?} on a hung Redis",
            started.elapsed()
        );
        if a.state.metrics.breaker_state.get() == 2 {
            break;
        }
    }
    assert_eq!(breaker(&a), BreakerState::Open);
    let timed_out = redis_calls(&a) - calls;
    let waited = a.state.metrics.redis_command_seconds.get_sample_sum() - seconds;
    assert_eq!(timed_out, 3, "calls until the breaker opened");
    // Each call waited about the timeout (none failed fast, none hung).
    let per_call = waited / timed_out as f64;
    eprintln!("hung Redis: {timed_out} calls, {per_call:.3} s each");
    assert!(
        per_call >= COMMAND_TIMEOUT.as_secs_f64() * 0.9 && per_call < 1.0,
        "a call to the hung Redis took {per_call} s on average, timeout {COMMAND_TIMEOUT:?}"
    );

    let calls = redis_calls(&a);
    let (code, url) = links.next().unwrap();
    assert_redirects_to(&redirect(&a, code).await, url);
    assert_eq!(redis_calls(&a), calls, "Redis called with the breaker open");

    redis.resume();
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    let (code, url) = links.next().expect("a link left for the probe");
    assert_redirects_to(&redirect(&a, code).await, url);
    assert_eq!(breaker(&a), BreakerState::Closed);
    assert_eq!(transitions(&a, "half_open"), 1);
    assert_eq!(transitions(&a, "closed"), 1);
    assert_eq!(
        redis.cli(&["EXISTS", &redis_key(generation(&a), code)]),
        "1",
        "L2 used again"
    );
}

#[sqlx::test]
async fn stale_redis_entry_missed_by_an_invalidation_does_not_come_back_when_redis_returns(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let b = replica(&pool, &redis).await;
    let old = "https://example.com/before-outage";
    let new = "https://example.com/during-outage";
    let link = create_settled(&[&a, &b], json!({"original_url": old})).await;
    let code = code_of(&link);
    assert_redirects_to(&redirect(&a, &code).await, old);
    assert_redirects_to(&redirect(&b, &code).await, old);
    assert_eq!(lookups(&b, "l2", "hit"), 1);
    let before = db_generation(&pool).await;
    assert_eq!((generation(&a), generation(&b)), (before, before));
    let old_key = redis_key(before, &code);
    assert!(redis.cli(&["GET", &old_key]).contains(old));

    redis.pause();
    a.update_link(&link["id"], json!({"original_url": new}))
        .await
        .expect(StatusCode::OK);
    // Each replica misses its delete (A twice: before answering and on its own NOTIFY) and
    // moves the generation once; the bump may finish after A has answered.
    eventually(
        "both replicas missed the delete and bumped the generation",
        DEADLINE,
        async || {
            invalidations(&a, "l2_failed") >= 2
                && invalidations(&b, "l2_failed") >= 1
                && invalidations(&a, "generation_bump") >= 1
                && invalidations(&b, "generation_bump") >= 1
        },
    )
    .await;
    let bumped = db_generation(&pool).await;
    assert!(bumped > before, "generation still {bumped}");
    eventually(
        "both replicas use the new generation",
        DEADLINE,
        async || {
            let current = db_generation(&pool).await;
            generation(&a) == current && generation(&b) == current
        },
    )
    .await;
    redis.resume();

    let stale = redis.cli(&["GET", &old_key]);
    assert!(
        stale.contains(old),
        "the old entry is still in Redis: {stale:?}"
    );
    let c = replica(&pool, &redis).await;
    assert_eq!(
        generation(&c),
        db_generation(&pool).await,
        "C starts in the new generation"
    );
    assert_redirects_to(&redirect(&c, &code).await, new);
    assert_redirects_to(&redirect(&b, &code).await, new);
    assert_redirects_to(&redirect(&a, &code).await, new);
    assert_eq!(
        lookups(&c, "l2", "hit"),
        0,
        "C must not read the old namespace"
    );
}

#[sqlx::test]
async fn without_redis_url_the_shared_tier_is_off_and_redirects_work(pool: PgPool) {
    let app = TestApp::with_settings(pool, AppSettings::default());
    assert!(app.app.wait_for_invalidations(DEADLINE).await);
    assert!(app.state.cache.shared().is_none());
    let url = "https://example.com/single-node";
    let code = code_of(&create_settled(&[&app], json!({"original_url": url})).await);
    assert_redirects_to(&redirect(&app, &code).await, url);
    assert_redirects_to(&redirect(&app, &code).await, url);
    assert_eq!(
        lookups(&app, "l2", "miss") + lookups(&app, "l2", "skipped"),
        0
    );
    assert_eq!(lookups(&app, "db", "hit"), 1);
    assert_eq!(redis_calls(&app), 0);
}

#[sqlx::test]
async fn half_open_probe_cancelled_by_a_client_going_away_does_not_keep_the_breaker_half_open(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let a = replica(&pool, &redis).await;
    let links = links(&a, 4).await;
    assert_redirects_to(&redirect(&a, &links[0].0).await, &links[0].1);

    redis.pause();
    for (code, url) in &links[1..3] {
        assert_redirects_to(&redirect(&a, code).await, url);
    }
    assert_eq!(breaker(&a), BreakerState::Open);
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    // The client disconnects while the probe waits on Redis: hyper drops the handler future.
    // `biased`: even after a stall, the client gives up before the command timeout fires.
    let probe = std::pin::pin!(a.send_now(redirect_request(&links[3].0)));
    tokio::select! {
        biased;
        () = tokio::time::sleep(Duration::from_millis(10)) => {}
        response = probe => panic!("the probe should still wait on Redis: {}", response.status),
    }
    assert_eq!(breaker(&a), BreakerState::HalfOpen);
    redis.resume();

    let mut probe = 0;
    eventually(
        "the breaker closes once Redis is back",
        DEADLINE,
        async || {
            probe += 1;
            let response = a.send_now(redirect_request(&format!("probe{probe}"))).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND);
            breaker(&a) == BreakerState::Closed
        },
    )
    .await;
    assert_eq!(transitions(&a, "closed"), 1);
}
