//! `POST /urls`: what a new link holds, which URLs, codes and expiries are refused (400, 404,
//! 409, 413), and the `created` event.

use super::*;

#[sqlx::test]
async fn create_returns_201_with_exactly_the_url_fields(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let response = app
        .post_json("/urls", json!({"original_url": "https://example.com/page?q=1#top", "user_id": user.id, "title": "Example"}))
        .await;
    let raw = response.expect(StatusCode::CREATED);
    assert_eq!(keys_of(&raw), sorted(&URL_FIELDS), "{raw}");
    let link: Link = response.body();
    assert!(link.id > 0);
    assert_eq!(link.user_id, Some(user.id));
    assert_eq!(link.original_url, "https://example.com/page?q=1#top");
    assert_eq!(link.title.as_deref(), Some("Example"));
    assert!(link.is_active);
    assert_eq!(link.expires_at, None);
    assert_api_timestamp(&link.created_at);
    assert_api_timestamp(&link.updated_at);
    assert_eq!(link.created_at, link.updated_at);
    let fetched: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(fetched, link);
}

#[sqlx::test]
async fn anonymous_link_has_null_user_and_title(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(link.user_id, None);
    assert_eq!(link.title, None);
}

#[sqlx::test]
async fn url_is_accepted_as_an_alias_of_original_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"url": "https://example.com/alias"}))
        .await;
    assert_eq!(link.original_url, "https://example.com/alias");
}

#[sqlx::test]
async fn generated_code_is_7_base62_characters(pool: PgPool) {
    let app = TestApp::new(pool);
    for _ in 0..20 {
        let link = app.shorten("https://example.com").await;
        let code = link.short_code.as_str();
        assert_eq!(code.len(), 7, "{code}");
        assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
    }
}

#[sqlx::test]
async fn same_url_posted_twice_gets_two_different_codes(pool: PgPool) {
    let app = TestApp::new(pool);
    let first = app.shorten("https://example.com/same").await;
    let second = app.shorten("https://example.com/same").await;
    assert_ne!(first.short_code, second.short_code);
    assert_ne!(first.id, second.id);
}

#[sqlx::test]
async fn invalid_original_url_is_400_naming_original_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let too_long = format!(
        "https://e.com/{}",
        "a".repeat(2049 - "https://e.com/".len())
    );
    assert_eq!(too_long.chars().count(), 2049);
    for bad in [
        "hello",
        "javascript:alert(1)",
        "ftp://x",
        "http://",
        "",
        "/relative/path",
        too_long.as_str(),
    ] {
        let error = app
            .post_json("/urls", json!({"original_url": bad}))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("original_url"), "{bad:?}: {error}");
    }
    for body in [
        json!({}),
        json!({"original_url": null}),
        json!({"original_url": 42}),
        json!({"title": "no url"}),
    ] {
        let error = app
            .post_json("/urls", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("original_url"), "{body}: {error}");
    }
    let list = app.get("/urls").await;
    assert_eq!(
        list.expect(StatusCode::OK),
        json!([]),
        "nothing was created"
    );
    assert_eq!(
        app.get("/events").await.expect(StatusCode::OK),
        json!([]),
        "no event was written"
    );
}

#[sqlx::test]
async fn original_url_of_exactly_2048_characters_is_accepted(pool: PgPool) {
    let app = TestApp::new(pool);
    let url = format!(
        "https://e.com/{}",
        "a".repeat(2048 - "https://e.com/".len())
    );
    assert_eq!(url.chars().count(), 2048);
    let link = app.shorten(&url).await;
    assert_eq!(link.original_url, url);
}

#[sqlx::test]
async fn malformed_bodies_are_400_json_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    let cases: [(Option<&str>, &str); 6] = [
        (Some("application/json"), "{not json"),
        (Some("application/json"), r#"["https://example.com"]"#),
        (Some("application/json"), r#""https://example.com""#),
        (Some("application/json"), "42"),
        (
            Some("application/x-www-form-urlencoded"),
            "original_url=https%3A%2F%2Fexample.com",
        ),
        (
            Some("text/plain"),
            r#"{"original_url": "https://example.com"}"#,
        ),
    ];
    for (content_type, body) in cases {
        app.raw(Method::POST, "/urls", content_type, body.to_owned())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
    }
    app.raw(
        Method::POST,
        "/urls",
        None,
        r#"{"original_url": "https://example.com"}"#,
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    let error = app
        .post_json(
            "/urls",
            json!({"original_url": "https://example.com", "user_id": "one"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("user_id"), "{error}");
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn body_over_1_mib_is_413(pool: PgPool) {
    let app = TestApp::new(pool);
    let body = json!({"original_url": "https://example.com", "title": "x".repeat(1024 * 1024 + 1)});
    app.post_json("/urls", body)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test]
async fn unknown_user_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.post_json(
        "/urls",
        json!({"original_url": "https://example.com", "user_id": 424242}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn deleted_user_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    assert_eq!(
        app.delete_user(user.id).await.status,
        StatusCode::NO_CONTENT
    );
    app.post_json(
        "/urls",
        json!({"original_url": "https://example.com", "user_id": user.id}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn custom_short_code_of_3_to_32_allowed_characters_is_kept(pool: PgPool) {
    let app = TestApp::new(pool);
    let longest = "Z9_-".repeat(8);
    for code in ["abc", "My-Link_2", "a-_", "0123456789", longest.as_str()] {
        let link = app
            .create_link(json!({"original_url": "https://example.com", "short_code": code}))
            .await;
        assert_eq!(link.short_code, code);
        let response = app.get(&format!("/{code}")).await;
        assert_eq!(response.status, StatusCode::FOUND, "{code} redirects");
    }
}

#[sqlx::test]
async fn invalid_custom_short_code_is_400_naming_short_code(pool: PgPool) {
    let app = TestApp::new(pool);
    let too_long = "a".repeat(33);
    for bad in [
        "ab",
        too_long.as_str(),
        "a b",
        "a.b",
        "a/b",
        "abc?",
        "ünï",
        "",
    ] {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://example.com", "short_code": bad}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("short_code"), "{bad:?}: {error}");
    }
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn every_reserved_path_is_refused_as_a_short_code(pool: PgPool) {
    let app = TestApp::new(pool);
    let reserved = [
        "health",
        "live",
        "ready",
        "metrics",
        "users",
        "urls",
        "events",
        "openapi.json",
        "docs",
        "api",
        "static",
        "favicon.ico",
        "robots.txt",
    ];
    for code in reserved {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://example.com", "short_code": code}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("short_code"), "{code}: {error}");
    }
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn taken_short_code_is_409(pool: PgPool) {
    let app = TestApp::new(pool);
    let first = app
        .create_link(json!({"original_url": "https://example.com/1", "short_code": "mine"}))
        .await;
    let error = app
        .post_json(
            "/urls",
            json!({"original_url": "https://example.com/2", "short_code": "mine"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(error.names("short_code"), "{error}");
    let all: Vec<Link> = app.get("/urls").await.expect_body(StatusCode::OK);
    assert_eq!(ids(&all), [first.id]);
    let location = app.get("/mine").await;
    assert_eq!(
        location.header("location"),
        Some("https://example.com/1"),
        "the first owner keeps the code"
    );
}

#[sqlx::test]
async fn expires_at_in_the_past_or_malformed_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    for bad in [
        "2000-01-01T00:00:00",
        "tomorrow",
        "2099-13-01T00:00:00",
        "31/12/2099",
        "",
    ] {
        let error = app
            .post_json(
                "/urls",
                json!({"original_url": "https://example.com", "expires_at": bad}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("expires_at"), "{bad:?}: {error}");
    }
    let error = app
        .post_json(
            "/urls",
            json!({"original_url": "https://example.com", "expires_at": 4102444800_i64}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("expires_at"), "{error}");
    assert_eq!(app.get("/urls").await.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn future_expires_at_is_stored_and_echoed_in_utc_api_format(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(
            json!({"original_url": "https://example.com", "expires_at": "2099-01-02T03:04:05"}),
        )
        .await;
    assert_eq!(link.expires_at.as_deref(), Some("2099-01-02T03:04:05"));
    let with_offset = app
        .create_link(json!({"original_url": "https://example.com", "expires_at": "2099-01-02T05:04:05+02:00"}))
        .await;
    assert_eq!(
        with_offset.expires_at.as_deref(),
        Some("2099-01-02T03:04:05"),
        "converted to UTC"
    );
    let fetched: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(fetched.expires_at.as_deref(), Some("2099-01-02T03:04:05"));
}

#[sqlx::test]
async fn create_writes_a_created_event_with_code_and_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/x", "user_id": user.id, "short_code": "created1"}))
        .await;
    let events = app.events_of(link.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.event_type, "created");
    assert_eq!(event.url_id, link.id);
    assert_eq!(event.user_id, Some(user.id));
    assert_eq!(
        event.details,
        json!({"short_code": "created1", "original_url": "https://example.com/x"})
    );
    assert_api_timestamp(&event.timestamp);
}

#[sqlx::test]
async fn a_new_link_and_a_new_user_are_located_by_the_location_header(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app
        .post_json(
            "/users",
            json!({"username": "ada", "email": "ada@example.com"}),
        )
        .await;
    let user: User = response.expect_body(StatusCode::CREATED);
    let location = response.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/users/{}", user.id));
    assert_eq!(
        app.get(&location).await.expect_body::<User>(StatusCode::OK),
        user
    );
    let response = app
        .post_json("/urls", json!({"original_url": "https://example.com"}))
        .await;
    let link: Link = response.expect_body(StatusCode::CREATED);
    let location = response.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/urls/{}", link.id));
    assert_eq!(
        app.get(&location).await.expect_body::<Link>(StatusCode::OK),
        link
    );
}
