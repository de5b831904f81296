//! Link safety: only http(s) destinations, a configurable blocklist, and no link back at
//! the service's own host. (Codes that would shadow a route: tests/api/urls/create.rs.)

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::bodies::Link;
use crate::helpers::{TestApp, TestResponse};
use shortener_domain::LinkPolicy;
use shortener_server::replica::AppSettings;

fn app_with_policy(pool: PgPool) -> TestApp {
    let settings = AppSettings {
        link_policy: LinkPolicy::new(["blocked.example", "192.0.2.7"], ["sho.rt"]).unwrap(),
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

/// `POST /urls` with the given destination, as a client of `host`.
async fn shorten_via(app: &TestApp, host: &str, url: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/urls")
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"original_url": url}).to_string()))
        .unwrap();
    app.send(request).await
}

#[sqlx::test]
async fn blocked_own_and_non_http_destinations_are_400s_naming_the_field(pool: PgPool) {
    let app = app_with_policy(pool.clone());
    for (url, says) in [
        ("https://blocked.example/x", "blocked domain"),
        ("https://cdn.Blocked.Example./x", "blocked domain"),
        ("http://192.0.2.7/", "blocked domain"),
        ("https://sho.rt/abc", "loop"),
        ("http://api.test:8080/abc", "loop"),
        ("javascript:alert(1)", "http or https"),
        ("data:text/html,hi", "http or https"),
        ("file:///etc/passwd", "http or https"),
    ] {
        let body = shorten_via(&app, "api.test:8080", url)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let problem = body
            .details
            .as_ref()
            .and_then(|details| details.get("original_url"))
            .map(String::as_str)
            .unwrap_or_default();
        assert!(problem.contains(says), "{url}: {body}");
    }
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM urls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(links, 0);
    // Neighbours of the refused ones are fine.
    for url in [
        "https://notblocked.example/",
        "https://blocked.example.org/",
        "http://api.test:9090/",
    ] {
        shorten_via(&app, "api.test:8080", url)
            .await
            .expect(StatusCode::CREATED);
    }
}

#[sqlx::test]
async fn an_edit_cannot_point_a_link_at_a_blocked_domain(pool: PgPool) {
    let app = app_with_policy(pool);
    let link = app.shorten("https://example.com/fine").await;
    let body = app
        .update_link(
            link.id,
            json!({"original_url": "https://x.blocked.example/"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        body.details
            .as_ref()
            .is_some_and(|details| details.contains_key("original_url")),
        "{body}"
    );
    let stored = app
        .get_link(link.id)
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert_eq!(stored.original_url, "https://example.com/fine");
}
