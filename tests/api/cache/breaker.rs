//! The Redis circuit breaker with Redis killed or hung: redirects come from the database, the
//! breaker opens, probes after its cool-down and closes once Redis answers again.

use super::*;

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
        if c.state.metrics().breaker_state.get() == 2 {
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
            .metrics()
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
    assert_eq!(c.state.metrics().breaker_state.get(), 0);
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
    let seconds = a.state.metrics().redis_command_seconds.get_sample_sum();
    for (code, url) in links.by_ref() {
        let started = Instant::now();
        assert_redirects_to(&redirect(&a, code).await, url);
        assert!(
            started.elapsed() < DEADLINE,
            "a redirect waited {:?} on a hung Redis",
            started.elapsed()
        );
        if a.state.metrics().breaker_state.get() == 2 {
            break;
        }
    }
    assert_eq!(breaker(&a), BreakerState::Open);
    let timed_out = redis_calls(&a) - calls;
    let waited = a.state.metrics().redis_command_seconds.get_sample_sum() - seconds;
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
