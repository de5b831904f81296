//! Where a redirect's answer comes from: L1, then L2 (Redis, shared by the replicas), then
//! Postgres; negative caching of unknown codes; no shared tier without a Redis URL.

use super::*;

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

#[sqlx::test]
async fn without_redis_url_the_shared_tier_is_off_and_redirects_work(pool: PgPool) {
    let app = TestApp::with_settings(pool, AppSettings::default());
    assert!(app.app.wait_for_invalidations(DEADLINE).await);
    assert!(app.cache().shared().is_none());
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
