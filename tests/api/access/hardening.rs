//! Response hardening: every answer (success, redirect, error, refusal) carries the
//! security headers and names no server software.

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::bodies::Link;
use crate::helpers::{TestApp, TestResponse};

#[track_caller]
fn assert_hardened(response: &TestResponse, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(response.header(name), Some(value), "{what}: {name}");
    }
    assert_eq!(response.header("server"), None, "{what} names no server");
    assert_eq!(response.header("x-powered-by"), None, "{what}");
}

/// `POST /urls` with the admin key: a 201.
async fn create_link(app: &TestApp) -> TestResponse {
    let created = app
        .send(super::request(
            "POST",
            "/urls",
            Some(super::ADMIN),
            Some(json!({"original_url": "https://example.com/h"})),
        ))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    created
}

#[sqlx::test]
async fn every_kind_of_answer_carries_the_security_headers(pool: PgPool) {
    let app = super::app_with_keys(pool);
    let created = create_link(&app).await;
    assert_hardened(&created, "201");
    let code = created.body::<Link>().short_code;
    let redirect = app.get(&format!("/{code}")).await;
    assert_eq!(redirect.status, StatusCode::FOUND);
    assert_hardened(&redirect, "302");
    for (path, status) in [
        ("/health", StatusCode::OK),
        ("/openapi.json", StatusCode::OK),
        ("/nope/nope", StatusCode::NOT_FOUND),
        ("/urls", StatusCode::UNAUTHORIZED),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, status, "{path}");
        assert_hardened(&response, path);
    }
    let bad = app
        .raw(axum::http::Method::POST, "/urls", Some("text/plain"), "x")
        .await;
    assert_hardened(&bad, "refused body");
}

/// A keyed answer is one key's view: no cache between the client and the API keeps it,
/// whether it is a success, a refusal or an error. The redirects keep their own policy.
#[sqlx::test]
async fn every_keyed_answer_says_no_store(pool: PgPool) {
    let app = super::app_with_keys(pool);
    let created = create_link(&app).await;
    assert_eq!(created.header("cache-control"), Some("no-store"), "201");
    let link = created.body::<Link>();
    for (method, path, key, status) in [
        (
            "GET",
            format!("/urls/{}", link.id),
            Some(super::READER),
            StatusCode::OK,
        ),
        (
            "GET",
            "/users".to_owned(),
            Some(super::ADMIN),
            StatusCode::OK,
        ),
        (
            "GET",
            "/urls/9000000".to_owned(),
            Some(super::READER),
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/urls".to_owned(), None, StatusCode::UNAUTHORIZED),
        (
            "POST",
            "/users".to_owned(),
            Some(super::READER),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let response = app.send(super::request(method, &path, key, None)).await;
        assert_eq!(response.status, status, "{method} {path}");
        assert_eq!(
            response.header("cache-control"),
            Some("no-store"),
            "{method} {path}"
        );
    }
    let redirect = app.get(&format!("/{}", link.short_code)).await;
    assert_ne!(redirect.header("cache-control"), Some("no-store"));
}
