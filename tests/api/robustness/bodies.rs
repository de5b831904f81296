//! Malformed, mistyped, NUL-bearing and oversized JSON bodies: a 400 (naming the field) or a
//! 413 on every JSON route, and nothing stored.

use super::*;

#[sqlx::test]
async fn malformed_bodies_are_400_json_errors_on_every_json_route(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let before = fixture.counts().await;
    for (method, path, valid) in fixture.json_routes() {
        let form: String = valid
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| format!("{key}={}", value.to_string().trim_matches('"')))
            .collect::<Vec<_>>()
            .join("&");
        let bodies: Vec<(Option<&str>, String, &str)> = vec![
            (
                Some("application/json"),
                r#"{"a":"#.to_owned(),
                "invalid JSON",
            ),
            (
                Some("application/json"),
                format!("[{valid}]"),
                "a JSON array",
            ),
            (
                Some("application/json"),
                r#""hello""#.to_owned(),
                "a JSON string",
            ),
            (Some("application/json"), "42".to_owned(), "a number"),
            (Some("application/json"), "null".to_owned(), "null"),
            (Some("application/json"), String::new(), "an empty body"),
            (Some("application/x-www-form-urlencoded"), form, "a form"),
            (Some("text/plain"), valid.to_string(), "plain text"),
            (None, valid.to_string(), "JSON without a content type"),
        ];
        for (content_type, body, what) in bodies {
            let response = fixture
                .app
                .raw(method.clone(), &path, content_type, body)
                .await;
            assert_eq!(
                response.status,
                StatusCode::BAD_REQUEST,
                "{method} {path} with {what}: {}",
                String::from_utf8_lossy(&response.body)
            );
            let error = response.json();
            assert!(
                error.is_object() && error["error"].is_string(),
                "{method} {path} with {what}: {error}"
            );
        }
    }
    assert_eq!(
        fixture.counts().await,
        before,
        "no rejected request wrote anything"
    );
    let user = fixture.app.get_user(fixture.user_id).await;
    assert_eq!(
        user.expect_body::<User>(StatusCode::OK).username,
        "ada",
        "no rejected PUT applied"
    );
}

#[sqlx::test]
async fn wrong_field_types_are_400_naming_the_field(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let user = format!("/users/{}", fixture.user_id);
    let link = format!("/urls/{}", fixture.url_id);
    let url_id = fixture.url_id;
    let cases = [
        (
            Method::POST,
            "/users",
            json!({"username": 42, "email": "b@example.com"}),
            "username",
        ),
        (
            Method::POST,
            "/users",
            json!({"username": "bob", "email": true}),
            "email",
        ),
        (Method::PUT, &user, json!({"username": ["bob"]}), "username"),
        (Method::PUT, &user, json!({"email": {}}), "email"),
        (
            Method::POST,
            "/urls",
            json!({"original_url": 42}),
            "original_url",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "user_id": "1"}),
            "user_id",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "user_id": 1.5}),
            "user_id",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "title": 5}),
            "title",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "short_code": 1234}),
            "short_code",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "expires_at": 1}),
            "expires_at",
        ),
        (
            Method::PUT,
            &link,
            json!({"original_url": 1}),
            "original_url",
        ),
        (Method::PUT, &link, json!({"title": []}), "title"),
        (
            Method::PUT,
            &link,
            json!({"is_active": "true"}),
            "is_active",
        ),
        (
            Method::PUT,
            &link,
            json!({"expires_at": false}),
            "expires_at",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": "1", "event_type": "custom"}),
            "url_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": true, "event_type": "custom"}),
            "url_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": 5}),
            "event_type",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "user_id": "x", "event_type": "custom"}),
            "user_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": "custom", "details": "text"}),
            "details",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": "custom", "details": [1]}),
            "details",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = fixture
            .app
            .raw(
                method.clone(),
                path,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error.names(field),
            "{method} {path} {body} should name {field}: {error}"
        );
    }
    // Numbers beyond i64 are a field error too, not a parse failure of the whole body.
    let huge = r#"{"original_url": "https://example.com", "user_id": 99999999999999999999}"#;
    let error = fixture
        .app
        .raw(Method::POST, "/urls", Some("application/json"), huge)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("user_id"), "{error}");
}

#[sqlx::test]
async fn nul_characters_in_stored_text_are_400_naming_the_field(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let before = fixture.counts().await;
    let (user, link) = (
        format!("/users/{}", fixture.user_id),
        format!("/urls/{}", fixture.url_id),
    );
    let url_id = fixture.url_id;
    let nul = "a\u{0}b";
    let cases = [
        (
            Method::POST,
            "/users",
            json!({"username": nul, "email": "n@example.com"}),
            "username",
        ),
        (
            Method::POST,
            "/users",
            json!({"username": "n", "email": "n\u{0}@example.com"}),
            "email",
        ),
        (Method::PUT, &user, json!({"username": nul}), "username"),
        (
            Method::PUT,
            &user,
            json!({"email": "n\u{0}@example.com"}),
            "email",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com/\u{0}"}),
            "original_url",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "title": nul}),
            "title",
        ),
        (
            Method::PUT,
            &link,
            json!({"original_url": "https://example.com/\u{0}"}),
            "original_url",
        ),
        (Method::PUT, &link, json!({"title": nul}), "title"),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": nul}),
            "event_type",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = fixture
            .app
            .raw(
                method.clone(),
                path,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error.names(field),
            "{method} {path} {body} should name {field}: {error}"
        );
    }
    for details in [
        json!({"k": nul}),
        json!({"k": {"deep": [nul]}}),
        json!({"k\u{0}": 1}),
    ] {
        let body = json!({"url_id": url_id, "event_type": "custom", "details": details});
        let error = fixture
            .app
            .post_json("/events", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let named = error
            .details
            .as_ref()
            .is_some_and(|d| d.keys().any(|k| k.starts_with("details")));
        assert!(named, "{body} should name details: {error}");
    }
    assert_eq!(
        fixture.counts().await,
        before,
        "nothing with a NUL was stored"
    );
    let response = fixture.app.get("/events?event_type=%00").await;
    let error = response.expect_error(StatusCode::BAD_REQUEST);
    // The raw error shape is the point here.
    assert!(response.json()["error"].is_string(), "{error}");
}

/// A JSON body of exactly `size` bytes for `POST /events`, padded in `details`.
/// An event of exactly `size` bytes, padded in a field the API ignores (its details are
/// bounded far below a mebibyte).
fn event_body_of_size(url_id: i64, size: usize) -> String {
    let empty = json!({"url_id": url_id, "event_type": "big", "pad": ""}).to_string();
    let pad = "x".repeat(size - empty.len());
    let body = json!({"url_id": url_id, "event_type": "big", "pad": pad}).to_string();
    assert_eq!(body.len(), size);
    body
}

#[sqlx::test]
async fn json_body_over_one_mebibyte_is_413(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let app = &fixture.app;
    let over = event_body_of_size(fixture.url_id, JSON_BODY_LIMIT + 1);
    for (method, path, _) in fixture.json_routes() {
        let response = app
            .raw(
                method.clone(),
                &path,
                Some("application/json"),
                over.clone(),
            )
            .await;
        let error = response.expect_error(StatusCode::PAYLOAD_TOO_LARGE);
        // The raw error shape is the point here.
        assert!(response.json().is_object(), "{method} {path}: {error}");
    }
    // Without a Content-Length (a streamed body) the limit holds as well.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = over
        .as_bytes()
        .chunks(64 * 1024)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    app.send(request)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test]
async fn json_body_of_one_mebibyte_or_less_is_accepted(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let app = &fixture.app;
    let exactly = event_body_of_size(fixture.url_id, JSON_BODY_LIMIT);
    let event = app
        .raw(
            Method::POST,
            "/events",
            Some("application/json"),
            exactly.clone(),
        )
        .await
        .expect_body::<Event>(StatusCode::CREATED);
    // A body cut short would not parse: a 201 means it was read whole.
    assert_eq!(event.event_type, "big");
    for (method, path, _) in fixture.json_routes() {
        let response = app
            .raw(
                method.clone(),
                &path,
                Some("application/json"),
                exactly.clone(),
            )
            .await;
        assert_ne!(
            response.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}"
        );
        assert!(
            mishandled(&method, &response).is_none(),
            "{method} {path}: {response:?}"
        );
    }
}
