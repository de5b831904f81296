//! A saturated database: no free connection answers 503 within the acquire timeout, and a
//! statement past the statement timeout is cut off and answers 503, never a hung worker.

use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use axum::http::StatusCode;
use shortener_http::ApiError;
use shortener_service::ServiceError;
use shortener_store::{self as db, PoolSettings};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// A pool built the way `serve` builds it, over the test database.
fn service_pool(test_pool: &PgPool, settings: PoolSettings) -> PgPool {
    let options = PgConnectOptions::from_str(&crate::helpers::database_url_of(test_pool)).unwrap();
    db::pool(options, &settings)
}

#[sqlx::test]
async fn no_free_connection_answers_503_within_the_acquire_timeout_then_recovers(pool: PgPool) {
    let one_connection = service_pool(
        &pool,
        PoolSettings {
            max_connections: 1,
            min_connections: 0,
            acquire_timeout: Duration::from_millis(300),
            statement_timeout: Duration::from_secs(5),
        },
    );
    let app = TestApp::new(one_connection.clone());
    // With the invalidation listener up: it must not hold one of the pool's connections.
    assert!(app.app.wait_for_invalidations(Duration::from_secs(5)).await);
    app.get("/users").await.expect(StatusCode::OK);

    let held = one_connection.acquire().await.unwrap();
    let started = Instant::now();
    let body = app
        .get("/users")
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE);
    let waited = started.elapsed();
    eprintln!("503 with the pool exhausted after {waited:?}: {body}");
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    app.post_json(
        "/users",
        serde_json::json!({"username": "ada", "email": "ada@example.com"}),
    )
    .await
    .expect_error(StatusCode::SERVICE_UNAVAILABLE);

    drop(held);
    app.get("/users").await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn a_statement_past_the_statement_timeout_is_cancelled_and_maps_to_503(pool: PgPool) {
    let service = service_pool(
        &pool,
        PoolSettings {
            max_connections: 2,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_millis(200),
        },
    );
    let started = Instant::now();
    let error = sqlx::query("SELECT pg_sleep(3)")
        .execute(&service)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let code = error
        .as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "{error}");
    assert_eq!(
        ApiError::from(ServiceError::from(error)).status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    // The connection is still usable afterwards.
    sqlx::query("SELECT 1").execute(&service).await.unwrap();
}
