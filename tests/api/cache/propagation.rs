//! Writes on one replica seen by another, expiry answered from cache, and the generation that
//! keeps a stale Redis entry from coming back after an outage.

use super::*;

/// Redirects `code` twice on `app` and checks the second answer came from L1.
async fn cache_on(app: &TestApp, code: &str, location: &str) {
    assert_redirects_to(&redirect(app, code).await, location);
    let hits = lookups(app, "l1", "hit");
    assert_redirects_to(&redirect(app, code).await, location);
    assert_eq!(lookups(app, "l1", "hit"), hits + 1, "{code} is not in L1");
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
    let owned = create_settled(&apps, json!({"original_url": old, "user_id": owner.id})).await;
    let found = |url: &'static str| move |r: &TestResponse| r.header("location") == Some(url);
    let gone = |r: &TestResponse| r.status == StatusCode::NOT_FOUND;
    let changed_path = format!("/urls/{}", changed.id);
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
        a.delete_link(deleted.id)
            .await
            .expect(StatusCode::NO_CONTENT);
    };
    let delay = propagation(&a, &b, &code_of(&deleted), old, delete, gone).await;
    delays.push(("DELETE /urls/{id}", delay));

    let delete = async || {
        a.delete_user(owner.id).await.expect(StatusCode::NO_CONTENT);
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
    a.update_link(link.id, json!({"original_url": new}))
        .await
        .expect(StatusCode::OK);
    // The writer misses its delete and moves the generation, once (B, told of the new
    // version, would read past the old entry anyway; a replica started later would not).
    eventually(
        "the writer missed the delete and moved the generation",
        DEADLINE,
        async || invalidations(&a, "l2_failed") >= 1 && invalidations(&a, "generation_bump") >= 1,
    )
    .await;
    assert_eq!(invalidations(&b, "l2_failed"), 0, "B does not touch Redis");
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
