//! The probes tell the truth with the database up, unreachable, unmigrated, or while the
//! replica drains.

use super::*;

#[sqlx::test]
async fn probes_answer_200_when_the_database_is_up(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/live").await.expect(StatusCode::OK);
    let health = app.get("/health").await.expect(StatusCode::OK);
    assert_eq!(
        (&health["status"], &health["database"]),
        (&json!("ok"), &json!("ok")),
        "{health}"
    );
    app.get("/ready").await.expect(StatusCode::OK);
}

#[tokio::test]
async fn unreachable_database_is_503_and_never_500() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://postgres@127.0.0.1:1/none")
        .unwrap();
    // The real app over a pool that can never connect; requests skip the click flush.
    let app = TestApp::new(pool);
    let timed = |response: TestResponse, started: Instant, what: &str| {
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(1500),
            "{what} took {elapsed:?}"
        );
        assert!(
            response.header("x-request-id").is_some(),
            "{what}: {response:?}"
        );
        response
    };

    let started = Instant::now();
    let health = timed(app.get("/health").await, started, "GET /health");
    let body = health.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "fail", "{body}");
    assert_eq!(body["database"], "fail", "{body}");

    let started = Instant::now();
    timed(app.get("/ready").await, started, "GET /ready").expect(StatusCode::SERVICE_UNAVAILABLE);

    let started = Instant::now();
    timed(app.get("/live").await, started, "GET /live").expect(StatusCode::OK);

    let new_user = json!({"username": "ada", "email": "ada@example.com"});
    let requests = [
        (Method::GET, "/users", None),
        (Method::POST, "/users", Some(new_user.to_string())),
        (Method::GET, "/somecode", None),
        (Method::GET, "/urls/1", None),
        (Method::GET, "/events?url_id=1", None),
    ];
    for (method, path, body) in requests {
        let started = Instant::now();
        let content_type = body.as_ref().map(|_| "application/json");
        let response = app
            .raw(method.clone(), path, content_type, body.unwrap_or_default())
            .await;
        let response = timed(response, started, &format!("{method} {path}"));
        response.expect_error(StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[sqlx::test]
async fn ready_is_503_while_draining(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/ready").await.expect(StatusCode::OK);
    app.state.lifecycle().start_draining();
    let ready = app
        .get("/ready")
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["status"], "fail", "{ready}");
    // Draining stops new traffic arriving, not the serving of what still comes.
    app.get("/live").await.expect(StatusCode::OK);
    app.get("/users").await.expect(StatusCode::OK);
}

#[sqlx::test(migrations = false)]
async fn ready_is_503_until_migrations_are_applied(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let ready = app
        .get("/ready")
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["status"], "fail", "{ready}");
    app.get("/live").await.expect(StatusCode::OK);
    shortener_store::migrate(&pool).await.unwrap();
    app.get("/ready").await.expect(StatusCode::OK);
}
