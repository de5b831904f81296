//! The redirect cache across tiers and replicas: L1 → L2 (a private redis-server) → Postgres,
//! negative caching, invalidation seen by a second replica, expiry from cache, the Redis
//! circuit breaker with Redis killed or hung, and the generation that keeps a stale Redis
//! entry from coming back.

use std::time::{Duration, Instant};

use crate::helpers::bodies::Link;
use crate::helpers::servers::RedisServer;
use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use shortener_cache::{BreakerState, CacheSettings, RedisSettings};
use shortener_server::replica::AppSettings;
use sqlx::PgPool;

mod breaker;
mod coherence;
mod ownership;
mod propagation;
mod tiers;
mod trigger;

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
        .metrics()
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
        .metrics()
        .cache_invalidations
        .with_label_values(&[kind])
        .get()
}

fn transitions(app: &TestApp, to: &str) -> u64 {
    app.state
        .metrics()
        .breaker_transitions
        .with_label_values(&[to])
        .get()
}

fn redis_calls(app: &TestApp) -> u64 {
    app.state.metrics().redis_command_seconds.get_sample_count()
}

fn breaker(app: &TestApp) -> BreakerState {
    app.cache().shared().expect("Redis tier").breaker_state()
}

fn generation(app: &TestApp) -> i64 {
    app.cache().shared().expect("Redis tier").generation()
}

async fn db_generation(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT generation FROM cache_state")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn redis_key(generation: i64, code: &str) -> String {
    format!("shortener:link:v4:{generation}:{code}")
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

fn code_of(link: &Link) -> String {
    link.short_code.clone()
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
fn evictions(apps: &[&TestApp]) -> Vec<(u64, u64)> {
    apps.iter()
        .map(|app| (invalidations(app, "l1"), invalidations(app, "l2")))
        .collect()
}

/// Waits until every replica has applied the change of one link written by `apps[0]`:
/// the writer evicts and deletes from Redis before answering, and evicts again when it
/// hears its own NOTIFY; the others evict once, on the NOTIFY. Until then a redirect's
/// read may be refused for the version it is told of next, which would blur the counts
/// these tests assert.
async fn settle(apps: &[&TestApp], before: &[(u64, u64)]) {
    eventually(
        "every replica applied the invalidation",
        DEADLINE,
        async || {
            apps.iter()
                .zip(before)
                .enumerate()
                .all(|(i, (app, (l1, l2)))| {
                    if i == 0 {
                        let redis_deletes_landed =
                            app.cache().shared().is_none() || invalidations(app, "l2") > *l2;
                        invalidations(app, "l1") >= l1 + 2 && redis_deletes_landed
                    } else {
                        invalidations(app, "l1") > *l1
                    }
                })
        },
    )
    .await;
}

/// Creates a link on `apps[0]` and waits until every replica has heard of it.
async fn create_settled(apps: &[&TestApp], body: Value) -> Link {
    let before = evictions(apps);
    let link = apps[0].create_link(body).await;
    settle(apps, &before).await;
    link
}
