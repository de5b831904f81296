//! Serving through a Postgres outage: cached links redirect, the rest is a fast 503, and
//! everything (invalidations included) recovers without a restart.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_cached_links_redirect_and_the_rest_is_503_fast() {
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let cached = cached_link(&app, "https://example.com/cached").await;
    let uncached = app.shorten("https://example.com/uncached").await;
    let owner = app.create_user("alice", "alice@example.com").await;
    let cached_code = cached.short_code.as_str();
    let uncached_code = uncached.short_code.as_str();
    let id = cached.id;

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
            format!("/users/{}", owner.id),
            Some(json!({"username": "carol"})),
        ),
        (
            Method::POST,
            "/events".to_owned(),
            Some(json!({"url_id": id, "event_type": "share"})),
        ),
        (Method::DELETE, format!("/urls/{}", uncached.id), None),
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
    assert_eq!(app.state.metrics().clicks_enqueued.get(), 3);
    assert_eq!(app.state.metrics().clicks_dropped.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_postgres_returns_everything_recovers_without_a_restart() {
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let link = app.shorten("https://example.com/later").await;
    let code = link.short_code.clone();

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
        .create_link(json!({"original_url": "https://example.com/after", "user_id": user.id}))
        .await;
    let updated: Link = app
        .update_link(
            link.id,
            json!({"original_url": "https://example.com/moved"}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(updated.original_url, "https://example.com/moved");
    let moved = get_now(app, path).await;
    assert_eq!(moved.status, StatusCode::FOUND);
    assert_eq!(moved.header("location"), Some("https://example.com/moved"));
    let fresh = get_now(app, &format!("/{}", created.short_code)).await;
    assert_eq!(fresh.status, StatusCode::FOUND);
    app.clicks().flush().await;
    assert_eq!(click_events(&app.pool, link.id).await, 3);
    assert_eq!(click_events(&app.pool, created.id).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidations_reach_a_second_instance_after_a_postgres_restart() {
    let (pg, pool) = private_database().await;
    let writer = start_app(pool, AppSettings::default()).await;
    let reader = start_app(connect(&pg).await, AppSettings::default()).await;
    let before = l1_invalidations(&reader);
    let link = writer.shorten("https://example.com/v1").await;
    let code = link.short_code.as_str();
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
        .update_link(link.id, json!({"original_url": "https://example.com/v2"}))
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

/// A cached capped link still redirects bots with Postgres stopped, but a person's visit
/// cannot be counted there, so it is a fast 503: never let through uncounted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_a_capped_link_lets_no_person_through_uncounted() {
    let (pg, pool) = private_database().await;
    let app = start_app(pool, AppSettings::default()).await;
    let link = cached_link_of(
        &app,
        json!({"original_url": "https://example.com/capped", "max_visits": 5}),
    )
    .await;
    stop(&pg);
    let visit = |agent: &'static str| {
        Request::builder()
            .uri(format!("/{}", link.short_code))
            .header("user-agent", agent)
            .body(Body::empty())
            .unwrap()
    };
    let bot = app
        .send_now(visit("Googlebot/2.1 (+http://www.google.com/bot.html)"))
        .await;
    assert_eq!(bot.status, StatusCode::FOUND);
    assert_eq!(bot.header("location"), Some("https://example.com/capped"));
    let started = Instant::now();
    let person = app
        .send_now(visit(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
        ))
        .await;
    assert_fast_error(
        "a person's visit to a capped link",
        &(person, started.elapsed()),
        StatusCode::SERVICE_UNAVAILABLE,
    );
}
