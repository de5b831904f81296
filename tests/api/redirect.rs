//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: where a link leads,
//! when it stops leading anywhere, and the `click` event each visit records.

use crate::helpers::bodies::{ErrorBody, Event, Link};
use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use sqlx::PgPool;

/// Both paths a short code is followed by.
fn redirect_paths(code: &str) -> [String; 2] {
    [format!("/{code}"), format!("/urls/{code}/redirect")]
}

/// A request to `path` with the given headers.
pub(crate) async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// Asserts a redirect to `location` with the contract's caching header.
#[track_caller]
pub(crate) fn assert_redirects_to(response: &TestResponse, location: &str) {
    assert_eq!(
        response.status,
        StatusCode::FOUND,
        "body: {}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("location"), Some(location));
    assert_eq!(response.header("cache-control"), Some("private, max-age=0"));
}

/// Every `click` event in the database, whatever the link.
async fn all_clicks(app: &TestApp) -> Vec<Event> {
    app.get("/events?event_type=click&per_page=1000")
        .await
        .expect_body(StatusCode::OK)
}

#[sqlx::test]
async fn both_paths_answer_302_to_the_original_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .shorten("https://example.com/deep/page?x=1&y=%20#frag")
        .await;
    let code = link.short_code.as_str();
    for path in redirect_paths(code) {
        let response = app.get(&path).await;
        assert_redirects_to(&response, "https://example.com/deep/page?x=1&y=%20#frag");
    }
}

#[sqlx::test]
async fn custom_code_redirects(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_link(
        json!({"original_url": "https://example.com/custom", "short_code": "my-Link_1"}),
    )
    .await;
    for path in redirect_paths("my-Link_1") {
        assert_redirects_to(&app.get(&path).await, "https://example.com/custom");
    }
}

#[sqlx::test]
async fn head_answers_like_get_but_records_no_click(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/head").await;
    let code = link.short_code.as_str();
    for path in redirect_paths(code) {
        let response = app.head(&path).await;
        assert_redirects_to(&response, "https://example.com/head");
        assert!(response.body.is_empty());
    }
    assert!(
        app.events_of_type(link.id, "click").await.is_empty(),
        "HEAD is a check, not a visit"
    );
}

#[sqlx::test]
async fn get_records_one_click_with_referrer_and_user_agent(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    let response = send_with(
        &app,
        Method::GET,
        &format!("/{code}"),
        &[
            ("referer", "https://news.example/item?id=1"),
            ("user-agent", "TestAgent/1.0 (X11)"),
        ],
    )
    .await;
    assert_redirects_to(&response, "https://example.com");

    let clicks = app.events_of_type(link.id, "click").await;
    assert_eq!(clicks.len(), 1, "{clicks:?}");
    let click = &clicks[0];
    assert_eq!(click.url_id, link.id);
    assert_eq!(
        click.details,
        json!({
            "referrer": "https://news.example/item?id=1",
            "user_agent": "TestAgent/1.0 (X11)",
            "class": "human",
            "reason": "browser",
            "referrer_host": "news.example"
        })
    );
}

#[sqlx::test]
async fn prefixed_path_records_a_click_too(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    let response = send_with(
        &app,
        Method::GET,
        &format!("/urls/{code}/redirect"),
        &[("user-agent", "curl/8")],
    )
    .await;
    assert_redirects_to(&response, "https://example.com");
    let clicks = app.events_of_type(link.id, "click").await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(
        clicks[0].details,
        json!({"referrer": null, "user_agent": "curl/8", "class": "bot", "reason": "crawler",
               "device": "bot"})
    );
}

#[sqlx::test]
async fn click_without_headers_has_null_referrer_and_user_agent(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    app.get(&format!("/{}", link.short_code)).await;
    let clicks = app.events_of_type(link.id, "click").await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(
        clicks[0].details,
        json!({"referrer": null, "user_agent": null, "class": "bot", "reason": "no_user_agent",
               "device": "bot"})
    );
}

#[sqlx::test]
async fn each_get_records_its_own_click(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/{code}")).await.status, StatusCode::FOUND);
    }
    assert_eq!(app.events_of_type(link.id, "click").await.len(), 3);
}

#[sqlx::test]
async fn click_stores_no_client_ip(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    let response = send_with(
        &app,
        Method::GET,
        &format!("/{code}"),
        &[
            ("x-forwarded-for", "203.0.113.77, 198.51.100.9"),
            ("x-real-ip", "203.0.113.77"),
            ("forwarded", "for=203.0.113.77"),
            ("user-agent", "ua"),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::FOUND);
    let clicks = app.events_of_type(link.id, "click").await;
    assert_eq!(clicks.len(), 1);
    assert_eq!(
        clicks[0].details,
        json!({"referrer": null, "user_agent": "ua", "class": "human", "reason": "browser"})
    );
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT string_agg(details::text, ' ') FROM events WHERE details::text LIKE '%203.0.113%' \
         OR details::text LIKE '%198.51.100%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, None, "no event holds the client's address");
}

#[sqlx::test]
async fn unknown_code_is_404_json_and_records_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    app.shorten("https://example.com").await;
    for path in redirect_paths("nosuchcode") {
        let response = app.get(&path).await;
        let error = response.expect_error(StatusCode::NOT_FOUND);
        assert!(response.header("location").is_none(), "{error}");
        assert_eq!(app.head(&path).await.status, StatusCode::NOT_FOUND);
    }
    assert!(all_clicks(&app).await.is_empty());
}

#[sqlx::test]
async fn malformed_codes_are_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_link(json!({"original_url": "https://example.com", "short_code": "abc"}))
        .await;
    for path in [
        "/a",
        "/ab",
        "/../etc",
        "/a.b",
        "/abc%20",
        "/%C3%BCnicode",
        "/abc/def",
        "/urls/a/redirect",
        "/urls/a.b/redirect",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert!(response.header("location").is_none(), "{path}");
    }
    let long = format!("/{}", "a".repeat(33));
    app.get(&long).await.expect_error(StatusCode::NOT_FOUND);
    assert!(all_clicks(&app).await.is_empty());
}

#[sqlx::test]
async fn inactive_link_is_404_and_records_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    app.update_link(link.id, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    for path in redirect_paths(code) {
        app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
        assert_eq!(app.head(&path).await.status, StatusCode::NOT_FOUND);
    }
    assert!(app.events_of_type(link.id, "click").await.is_empty());
}

#[sqlx::test]
async fn reactivated_link_redirects_again(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/back").await;
    let code = link.short_code.as_str();
    let path = format!("/urls/{}", link.id);
    app.put_json(&path, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/{code}"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.put_json(&path, json!({"is_active": true}))
        .await
        .expect(StatusCode::OK);
    assert_redirects_to(
        &app.get(&format!("/{code}")).await,
        "https://example.com/back",
    );
    assert_eq!(app.events_of_type(link.id, "click").await.len(), 1);
}

#[sqlx::test]
async fn deleted_link_is_404_and_records_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    assert_eq!(
        app.delete_link(link.id).await.status,
        StatusCode::NO_CONTENT
    );
    for path in redirect_paths(code) {
        app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
        assert_eq!(app.head(&path).await.status, StatusCode::NOT_FOUND);
    }
    assert!(app.events_of_type(link.id, "click").await.is_empty());
}

#[sqlx::test]
async fn expired_link_is_410_json_and_records_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(
            json!({"original_url": "https://example.com", "expires_at": "2099-01-01T00:00:00"}),
        )
        .await;
    let code = link.short_code.as_str();
    // Still valid: redirects.
    assert_redirects_to(&app.get(&format!("/{code}")).await, "https://example.com");
    app.update_link(link.id, json!({"expires_at": "2001-01-01T00:00:00"}))
        .await
        .expect(StatusCode::OK);
    for path in redirect_paths(code) {
        let response = app.get(&path).await;
        response.expect_error(StatusCode::GONE);
        assert!(response.header("location").is_none());
        assert_eq!(app.head(&path).await.status, StatusCode::GONE);
    }
    assert_eq!(
        app.events_of_type(link.id, "click").await.len(),
        1,
        "only the click before expiry"
    );
}

#[sqlx::test]
async fn clearing_the_expiry_revives_an_expired_link(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let code = link.short_code.as_str();
    let path = format!("/urls/{}", link.id);
    app.put_json(&path, json!({"expires_at": "2001-01-01T00:00:00"}))
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/{code}"))
        .await
        .expect_error(StatusCode::GONE);
    app.put_json(&path, json!({"expires_at": null}))
        .await
        .expect(StatusCode::OK);
    assert_redirects_to(&app.get(&format!("/{code}")).await, "https://example.com");
}

#[sqlx::test]
async fn new_original_url_takes_effect_immediately(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/before").await;
    let code = link.short_code.as_str();
    for path in redirect_paths(code) {
        assert_redirects_to(&app.get(&path).await, "https://example.com/before");
    }
    app.update_link(
        link.id,
        json!({"original_url": "https://example.org/after"}),
    )
    .await
    .expect(StatusCode::OK);
    for path in redirect_paths(code) {
        assert_redirects_to(&app.get(&path).await, "https://example.org/after");
        assert_redirects_to(&app.head(&path).await, "https://example.org/after");
    }
}

#[sqlx::test]
async fn reserved_paths_are_not_redirects(pool: PgPool) {
    let app = TestApp::new(pool);
    app.shorten("https://example.com").await;
    for path in ["/live", "/users", "/urls", "/events", "/openapi.json"] {
        let response = app.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path} is the service's own route"
        );
        assert!(response.header("location").is_none(), "{path}");
    }
    assert!(all_clicks(&app).await.is_empty());
}

#[sqlx::test]
async fn an_accepted_url_with_control_characters_still_redirects_with_a_location(pool: PgPool) {
    let app = TestApp::new(pool);
    // Either the service refuses such a URL (400), or the redirect must lead to it.
    for url in [
        "https://example.com/a\nb",
        "https://example.com/a\r\nb",
        "https://exa\nmple.com/",
    ] {
        let response = app.post_json("/urls", json!({"original_url": url})).await;
        if response.status == StatusCode::BAD_REQUEST {
            // Refused for the URL: `detail` panics without a message about `original_url`.
            response.body::<ErrorBody>().detail("original_url");
            continue;
        }
        let link: Link = response.expect_body(StatusCode::CREATED);
        let code = link.short_code.as_str();
        let redirect = app.get(&format!("/{code}")).await;
        assert_eq!(redirect.status, StatusCode::FOUND, "{url:?}");
        let location = redirect
            .headers
            .get("location")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_else(|| {
                panic!(
                    "{url:?} was accepted (201) but its redirect has no Location; body: {}",
                    String::from_utf8_lossy(&redirect.body)
                )
            });
        assert_eq!(
            url::Url::parse(&location).map(String::from),
            url::Url::parse(&link.original_url).map(String::from),
            "{url:?}"
        );
    }
}
