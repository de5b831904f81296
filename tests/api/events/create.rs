//! `POST /events`: what a custom event holds and which bodies, types and ids are refused.

use super::*;

#[sqlx::test]
async fn post_returns_201_with_exactly_the_event_fields(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    let raw = app.post_json("/events", json!({"url_id": f.ada_link.id, "user_id": f.ada.id, "event_type": "shared", "details": {"channel": "email", "n": 2, "nested": {"a": [1, 2]}}}),
    )
    .await
    .expect(StatusCode::CREATED);
    let mut keys: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "actor",
            "details",
            "event_type",
            "id",
            "timestamp",
            "url_id",
            "user_id"
        ],
        "{raw}"
    );
    let event = serde_json::from_value::<Event>(raw.clone()).unwrap();
    assert!(event.id > 0);
    assert_eq!(event.url_id, f.ada_link.id);
    assert_eq!(event.user_id, Some(f.ada.id));
    assert_eq!(event.event_type, "shared");
    assert_eq!(
        event.details,
        json!({"channel": "email", "n": 2, "nested": {"a": [1, 2]}})
    );
    let timestamp = event.timestamp.as_str();
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S").is_ok()
            && timestamp.len() == 19,
        "YYYY-MM-DDTHH:MM:SS: {timestamp}"
    );
    let listed = app.events_of(f.ada_link.id).await;
    assert_eq!(
        listed.last(),
        Some(&event),
        "the stored event is the one returned"
    );
}

#[sqlx::test]
async fn post_without_user_id_has_null_user(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let event = app
        .post_event(json!({"url_id": link.id, "event_type": "note"}))
        .await;
    assert_eq!(event.user_id, None);
}

#[sqlx::test]
async fn details_default_to_an_empty_object_when_absent_or_null(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let absent = app
        .post_event(json!({"url_id": link.id, "event_type": "note"}))
        .await;
    assert_eq!(absent.details, json!({}));
    let null = app
        .post_event(json!({"url_id": link.id, "event_type": "note", "details": null}))
        .await;
    assert_eq!(null.details, json!({}));
    let listed = app.events_of_type(link.id, "note").await;
    assert_eq!(
        listed.iter().map(|e| e.details.clone()).collect::<Vec<_>>(),
        [json!({}), json!({})]
    );
}

#[sqlx::test]
async fn non_object_details_are_400_naming_details(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    for details in [
        json!([1, 2]),
        json!([]),
        json!("{\"a\":1}"),
        json!("text"),
        json!(42),
        json!(1.5),
        json!(true),
    ] {
        let error = app
            .post_json(
                "/events",
                json!({"url_id": link.id, "event_type": "note", "details": details}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("details"), "{details}: {error}");
    }
    assert!(
        app.events_of_type(link.id, "note").await.is_empty(),
        "nothing was stored"
    );
}

#[sqlx::test]
async fn event_type_must_be_1_to_32_characters(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let too_long = "x".repeat(33);
    for bad in [
        json!(""),
        json!(too_long),
        json!(null),
        json!(7),
        json!(["click"]),
    ] {
        let error = app
            .post_json("/events", json!({"url_id": link.id, "event_type": bad}))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("event_type"), "{bad}: {error}");
    }
    let error = app
        .post_json("/events", json!({"url_id": link.id}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("event_type"), "missing: {error}");

    let longest = "x".repeat(32);
    let event = app
        .post_event(json!({"url_id": link.id, "event_type": longest}))
        .await;
    assert_eq!(event.event_type, longest);
    let one = app
        .post_event(json!({"url_id": link.id, "event_type": "a"}))
        .await;
    assert_eq!(one.event_type, "a");
    let wide = "é".repeat(32);
    let event = app
        .post_event(json!({"url_id": link.id, "event_type": wide}))
        .await;
    assert_eq!(
        event.event_type, wide,
        "the limit counts characters, not bytes"
    );
}

#[sqlx::test]
async fn missing_or_mistyped_url_id_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    for body in [
        json!({"event_type": "note"}),
        json!({"url_id": null, "event_type": "note"}),
        json!({"url_id": "1", "event_type": "note"}),
        json!({"url_id": 1.5, "event_type": "note"}),
    ] {
        let error = app
            .post_json("/events", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("url_id"), "{body}: {error}");
    }
    let error = app
        .post_json(
            "/events",
            json!({"url_id": link.id, "user_id": "me", "event_type": "note"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("user_id"), "{error}");
}

#[sqlx::test]
async fn malformed_bodies_are_400_json_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let valid = json!({"url_id": link.id, "event_type": "note"}).to_string();
    let cases = [
        (Some("application/json"), "{\"url_id\":".to_owned()),
        (Some("application/json"), format!("[{valid}]")),
        (Some("application/json"), "\"note\"".to_owned()),
        (Some("application/json"), "12".to_owned()),
        (
            Some("application/x-www-form-urlencoded"),
            format!("url_id={}&event_type=note", link.id),
        ),
        (Some("text/plain"), valid.clone()),
        (None, valid),
    ];
    for (content_type, body) in cases {
        app.raw(Method::POST, "/events", content_type, body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
    }
    assert!(app.events_of_type(link.id, "note").await.is_empty());
}

#[sqlx::test]
async fn unknown_url_id_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.post_json("/events", json!({"url_id": 424242, "event_type": "note"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    let response = app.get("/events").await;
    assert_eq!(response.expect(StatusCode::OK), json!([]));
}

#[sqlx::test]
async fn deleted_url_id_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(
        app.delete_link(link.id).await.status,
        StatusCode::NO_CONTENT
    );
    app.post_json("/events", json!({"url_id": link.id, "event_type": "note"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    assert!(app.events_of_type(link.id, "note").await.is_empty());
}

/// An event's user is its link's owner: naming any other user, unknown or deleted ones
/// included, is a 400 naming `user_id`, and nothing is stored.
#[sqlx::test]
async fn a_user_id_other_than_the_links_owner_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let user = app.create_user("ada", "ada@example.com").await;
    for user_id in [424242, user.id] {
        let error = app
            .post_json(
                "/events",
                json!({"url_id": link.id, "user_id": user_id, "event_type": "note"}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("user_id"), "{error}");
    }
    assert!(app.events_of_type(link.id, "note").await.is_empty());
}

/// Found by schemathesis: Postgres writes a jsonb number out in full (f64::MAX is 309
/// digits), which serde_json's default parser overflowed on, so reading the event back
/// was a 500. Extreme numbers now read back exactly as sent.
#[sqlx::test]
async fn extreme_numbers_in_details_read_back_exactly(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let details = json!({
        "max": f64::MAX,
        "min": f64::MIN,
        "tiny": 5e-324,
        "big": 123_456_789_012_345_678_901_234_567_890.0,
    });
    let event = app
        .post_event(json!({"url_id": link.id, "event_type": "note", "details": details}))
        .await;
    assert_eq!(event.details, details);
    let listed = app.events_of(link.id).await;
    assert_eq!(listed.last().unwrap().details, details);
}

/// JSON Schema counts `7.0` as an integer, so the ids of a body take it (and only
/// numbers with no fraction).
#[sqlx::test]
async fn integral_numbers_are_ids_and_fractions_are_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let id = link.id;
    let event = app
        .post_event(json!({"url_id": id as f64, "event_type": "note", "user_id": null}))
        .await;
    assert_eq!(event.url_id, id);
    let error = app
        .post_json(
            "/events",
            json!({"url_id": id as f64 + 0.5, "event_type": "note"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("url_id"), "{error}");
}

/// A NUL cannot be stored in jsonb; the details are refused naming where it is, while
/// a NUL in a field the API ignores changes nothing.
#[sqlx::test]
async fn a_nul_inside_details_is_400_naming_its_path(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let error = app
        .post_json(
            "/events",
            json!({"url_id": link.id, "event_type": "note", "details": {"a": ["x\u{0}"]}}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        error
            .details
            .as_ref()
            .and_then(|details| details.get("details"))
            .is_some_and(|problem| problem.contains("details.a.0")),
        "{error}"
    );
    app.post_event(json!({"url_id": link.id, "event_type": "note", "ignored\u{0}": "\u{0}"}))
        .await;
}

/// A posted click would count in the link's stats, and a posted `created`, `updated` or
/// `deleted` would rewrite its history: only the service writes them.
#[sqlx::test]
async fn the_services_own_event_types_are_400s_naming_the_type_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    let before = app.events_of(f.ada_link.id).await;
    for event_type in ["click", "created", "updated", "deleted", " click "] {
        let error = app
            .post_json(
                "/events",
                json!({"url_id": f.ada_link.id, "user_id": f.ada.id, "event_type": event_type,
                       "details": {"referrer": "https://forged.example/"}}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("event_type"), "{event_type:?}: {error}");
    }
    assert_eq!(app.events_of(f.ada_link.id).await, before, "nothing stored");
    let stats = app
        .link_stats(f.ada_link.id)
        .await
        .expect_body::<LinkStats>(StatusCode::OK);
    assert_eq!(stats.clicks, 0);
    assert!(stats.top_referrers.is_empty(), "{stats:?}");
    // Other spellings are the client's own types, counted as such.
    let custom = app
        .post_event(json!({"url_id": f.ada_link.id, "event_type": "Click"}))
        .await;
    assert_eq!(custom.event_type, "Click");
}

/// Details are an audit note, bounded as JSON: a 9,000-character referrer (which once hit
/// the referrer rollup's index row limit: a 500) is a 400 naming `details`.
#[sqlx::test]
async fn oversized_details_are_400s_naming_details(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let long = "r".repeat(9000);
    let error = app
        .post_json(
            "/events",
            json!({"url_id": link.id, "event_type": "note", "details": {"referrer": long}}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("details"), "{error}");
    assert!(app.events_of_type(link.id, "note").await.is_empty());
    let fits = "r".repeat(4000);
    app.post_event(json!({"url_id": link.id, "event_type": "note", "details": {"referrer": fits}}))
        .await;
}
