//! Who invalidates what when replicas run with their real connection names: the writing
//! replica deletes the Redis entry itself, once (a user's links in one round trip); the
//! other replicas only evict their in-process entries and note the version; a write from
//! outside any replica deletes nothing, and the first reader replaces the stale entry.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use shortener_server::replica::AppSettings;
use shortener_store::replica_application_name;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::{
    DEADLINE, assert_redirects_to, code_of, eventually, invalidations, redirect, redis_calls,
    settings,
};
use crate::helpers::TestApp;
use crate::helpers::servers::RedisServer;

/// Long enough for a late second pass to show, if there were one.
const QUIET: Duration = Duration::from_millis(600);

/// A replica whose connections carry a replica's `application_name`, as `serve` sets it.
async fn named_replica(test_pool: &PgPool, redis: &RedisServer, name: &str) -> TestApp {
    let options = test_pool
        .connect_options()
        .as_ref()
        .clone()
        .application_name(&replica_application_name(name));
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .unwrap();
    let settings = AppSettings {
        replica: name.to_owned(),
        ..settings(redis)
    };
    let app = TestApp::with_settings(pool, settings);
    assert!(app.app.wait_for_invalidations(DEADLINE).await);
    app
}

#[sqlx::test]
async fn an_update_is_deleted_from_redis_by_its_writer_alone_and_evicted_everywhere(pool: PgPool) {
    let redis = RedisServer::start();
    let a = named_replica(&pool, &redis, "a").await;
    let b = named_replica(&pool, &redis, "b").await;
    let (old, new) = ("https://example.com/old", "https://example.com/new");
    let link = a.create_link(json!({"original_url": old})).await;
    let code = code_of(&link);
    tokio::time::sleep(QUIET).await;
    assert_redirects_to(&redirect(&a, &code).await, old);
    assert_redirects_to(&redirect(&b, &code).await, old);
    let (a_deletes, b_deletes) = (invalidations(&a, "l2"), invalidations(&b, "l2"));
    let b_evictions = invalidations(&b, "l1");

    a.update_link(link.id, json!({"original_url": new}))
        .await
        .expect(StatusCode::OK);
    // The writer's next request is fresh at once; the other replica's after the NOTIFY.
    assert_redirects_to(&redirect(&a, &code).await, new);
    eventually(
        "replica b follows the new destination",
        DEADLINE,
        async || redirect(&b, &code).await.header("location") == Some(new),
    )
    .await;
    tokio::time::sleep(QUIET).await;

    assert_eq!(
        invalidations(&a, "l2") - a_deletes,
        1,
        "the writer deletes from Redis before answering, once"
    );
    assert_eq!(
        invalidations(&b, "l2"),
        b_deletes,
        "another replica's listener does not touch Redis"
    );
    assert_eq!(
        invalidations(&b, "l1") - b_evictions,
        1,
        "another replica evicts on the NOTIFY, once"
    );
    assert_redirects_to(&redirect(&b, &code).await, new);
}

#[sqlx::test]
async fn deleting_a_user_removes_all_their_links_from_redis_in_one_round_trip(pool: PgPool) {
    let redis = RedisServer::start();
    let a = named_replica(&pool, &redis, "a").await;
    let user = a.create_user("many", "many@example.com").await;
    let mut codes = Vec::new();
    for i in 0..50 {
        let link = a
            .create_link(
                json!({"original_url": format!("https://example.com/{i}"), "user_id": user.id}),
            )
            .await;
        codes.push(code_of(&link));
    }
    tokio::time::sleep(QUIET).await;
    for code in &codes {
        assert_eq!(redirect(&a, code).await.status, StatusCode::FOUND);
    }
    assert_eq!(
        redis.cli(&["DBSIZE"]).trim(),
        "50",
        "every link is in Redis"
    );
    let (calls, deletes) = (redis_calls(&a), invalidations(&a, "l2"));

    a.delete_user(user.id).await.expect(StatusCode::NO_CONTENT);
    tokio::time::sleep(QUIET).await;

    assert_eq!(
        redis_calls(&a) - calls,
        1,
        "one pipelined DEL before answering, not one per link"
    );
    assert_eq!(
        invalidations(&a, "l2") - deletes,
        50,
        "50 keys, deleted once"
    );
    assert_eq!(redis.cli(&["DBSIZE"]).trim(), "0");
    for code in &codes {
        assert_eq!(redirect(&a, code).await.status, StatusCode::NOT_FOUND);
    }
}

#[sqlx::test]
async fn a_write_from_outside_any_replica_is_read_past_and_replaced_by_the_first_reader(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let a = named_replica(&pool, &redis, "a").await;
    let b = named_replica(&pool, &redis, "b").await;
    let link = a.shorten("https://example.com/before").await;
    let code = code_of(&link);
    tokio::time::sleep(QUIET).await;
    assert_redirects_to(&redirect(&b, &code).await, "https://example.com/before");
    let (a_deletes, b_deletes) = (invalidations(&a, "l2"), invalidations(&b, "l2"));
    let b_evictions = invalidations(&b, "l1");

    // The test's own pool names no replica: an operator's psql, as far as the service knows.
    sqlx::query("UPDATE urls SET original_url = 'https://example.com/after' WHERE id = $1")
        .bind(link.id)
        .execute(&pool)
        .await
        .unwrap();
    eventually("b is told of the change", DEADLINE, async || {
        invalidations(&b, "l1") > b_evictions
    })
    .await;
    assert_redirects_to(&redirect(&b, &code).await, "https://example.com/after");
    assert_redirects_to(&redirect(&a, &code).await, "https://example.com/after");
    assert_eq!(
        (invalidations(&a, "l2"), invalidations(&b, "l2")),
        (a_deletes, b_deletes),
        "no listener deletes from Redis"
    );
    let key = super::redis_key(super::generation(&a), &code);
    assert!(
        redis
            .cli(&["GET", &key])
            .contains("https://example.com/after"),
        "the first reader replaced the stale entry"
    );
}
