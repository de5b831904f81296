//! `/events`: the audit trail listed with filters and pagination, and custom events
//! appended by clients.

use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Ids of the items of a list body.
fn ids_of(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Two users, a link of each, and one anonymous link; each link has its `created` event.
struct Fixture {
    ada: Value,
    bob: Value,
    ada_link: Value,
    bob_link: Value,
    anon_link: Value,
}

async fn fixture(app: &TestApp) -> Fixture {
    let ada = app.create_user("ada", "ada@example.com").await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let ada_link = app
        .create_link(json!({"original_url": "https://a.example", "user_id": ada["id"]}))
        .await;
    let bob_link = app
        .create_link(json!({"original_url": "https://b.example", "user_id": bob["id"]}))
        .await;
    let anon_link = app.shorten("https://anon.example").await;
    Fixture {
        ada,
        bob,
        ada_link,
        bob_link,
        anon_link,
    }
}

#[sqlx::test]
async fn post_returns_201_with_exactly_the_event_fields(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    let event = app.post_event(json!({"url_id": f.ada_link["id"], "user_id": f.ada["id"], "event_type": "shared", "details": {"channel": "email", "n": 2, "nested": {"a": [1, 2]}}}),
    )
    .await;
    let mut keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "details",
            "event_type",
            "id",
            "timestamp",
            "url_id",
            "user_id"
        ],
        "{event}"
    );
    assert!(event["id"].as_i64().unwrap() > 0);
    assert_eq!(event["url_id"], f.ada_link["id"]);
    assert_eq!(event["user_id"], f.ada["id"]);
    assert_eq!(event["event_type"], "shared");
    assert_eq!(
        event["details"],
        json!({"channel": "email", "n": 2, "nested": {"a": [1, 2]}})
    );
    let timestamp = event["timestamp"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S").is_ok()
            && timestamp.len() == 19,
        "YYYY-MM-DDTHH:MM:SS: {timestamp}"
    );
    let listed = app.events_of(&f.ada_link["id"]).await;
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
        .post_event(json!({"url_id": link["id"], "event_type": "note"}))
        .await;
    assert_eq!(event["user_id"], Value::Null);
}

#[sqlx::test]
async fn details_default_to_an_empty_object_when_absent_or_null(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let absent = app
        .post_event(json!({"url_id": link["id"], "event_type": "note"}))
        .await;
    assert_eq!(absent["details"], json!({}));
    let null = app
        .post_event(json!({"url_id": link["id"], "event_type": "note", "details": null}))
        .await;
    assert_eq!(null["details"], json!({}));
    let listed = app.events_of_type(&link["id"], "note").await;
    assert_eq!(
        listed
            .iter()
            .map(|e| e["details"].clone())
            .collect::<Vec<_>>(),
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
                json!({"url_id": link["id"], "event_type": "note", "details": details}),
            )
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"]["details"].is_string(),
            "{details}: {error}"
        );
    }
    assert!(
        app.events_of_type(&link["id"], "note").await.is_empty(),
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
            .post_json("/events", json!({"url_id": link["id"], "event_type": bad}))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error["details"]["event_type"].is_string(), "{bad}: {error}");
    }
    let error = app
        .post_json("/events", json!({"url_id": link["id"]}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        error["details"]["event_type"].is_string(),
        "missing: {error}"
    );

    let longest = "x".repeat(32);
    let event = app
        .post_event(json!({"url_id": link["id"], "event_type": longest}))
        .await;
    assert_eq!(event["event_type"], longest.as_str());
    let one = app
        .post_event(json!({"url_id": link["id"], "event_type": "a"}))
        .await;
    assert_eq!(one["event_type"], "a");
    let wide = "é".repeat(32);
    let event = app
        .post_event(json!({"url_id": link["id"], "event_type": wide}))
        .await;
    assert_eq!(
        event["event_type"],
        wide.as_str(),
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
        assert!(error["details"]["url_id"].is_string(), "{body}: {error}");
    }
    let error = app
        .post_json(
            "/events",
            json!({"url_id": link["id"], "user_id": "me", "event_type": "note"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error["details"]["user_id"].is_string(), "{error}");
}

#[sqlx::test]
async fn malformed_bodies_are_400_json_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let valid = json!({"url_id": link["id"], "event_type": "note"}).to_string();
    let cases = [
        (Some("application/json"), "{\"url_id\":".to_owned()),
        (Some("application/json"), format!("[{valid}]")),
        (Some("application/json"), "\"note\"".to_owned()),
        (Some("application/json"), "12".to_owned()),
        (
            Some("application/x-www-form-urlencoded"),
            format!("url_id={}&event_type=note", link["id"]),
        ),
        (Some("text/plain"), valid.clone()),
        (None, valid),
    ];
    for (content_type, body) in cases {
        app.raw(Method::POST, "/events", content_type, body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
    }
    assert!(app.events_of_type(&link["id"], "note").await.is_empty());
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
        app.delete_link(&link["id"]).await.status,
        StatusCode::NO_CONTENT
    );
    app.post_json(
        "/events",
        json!({"url_id": link["id"], "event_type": "note"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    assert!(app.events_of_type(&link["id"], "note").await.is_empty());
}

#[sqlx::test]
async fn unknown_or_deleted_user_id_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    app.post_json(
        "/events",
        json!({"url_id": link["id"], "user_id": 424242, "event_type": "note"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    let user = app.create_user("ada", "ada@example.com").await;
    assert_eq!(
        app.delete_user(&user["id"]).await.status,
        StatusCode::NO_CONTENT
    );
    app.post_json(
        "/events",
        json!({"url_id": link["id"], "user_id": user["id"], "event_type": "note"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    assert!(app.events_of_type(&link["id"], "note").await.is_empty());
}

#[sqlx::test]
async fn list_is_ordered_by_id_counted_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    for i in 0..4 {
        app.post_event(
            json!({"url_id": f.anon_link["id"], "event_type": "note", "details": {"i": i}}),
        )
        .await;
    }
    let response = app.get("/events").await;
    let all = response.expect(StatusCode::OK);
    assert_eq!(
        response.header("x-total-count"),
        Some("7"),
        "3 created + 4 notes"
    );
    let ids = ids_of(&all);
    assert_eq!(ids.len(), 7);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let types: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "created", "created", "created", "note", "note", "note", "note"
        ]
    );

    let response = app.get("/events?page=2&per_page=3").await;
    let page = response.expect(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("7"));
    assert_eq!(ids_of(&page), ids[3..6]);
    assert_eq!(page[0]["details"], json!({"i": 0}));
    let last = app
        .get("/events?page=3&per_page=3")
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids_of(&last), ids[6..]);
    let beyond = app.get("/events?page=4&per_page=3").await;
    assert_eq!(beyond.expect(StatusCode::OK), json!([]));
    assert_eq!(beyond.header("x-total-count"), Some("7"));
}

#[sqlx::test]
async fn list_pages_hold_100_events_by_default(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    for _ in 0..100 {
        app.post_event(json!({"url_id": link["id"], "event_type": "note"}))
            .await;
    }
    let response = app.get("/events").await;
    assert_eq!(
        response.expect(StatusCode::OK).as_array().unwrap().len(),
        100
    );
    assert_eq!(response.header("x-total-count"), Some("101"));
    let second = app.get("/events?page=2").await.expect(StatusCode::OK);
    assert_eq!(second.as_array().unwrap().len(), 1);
    let big = app
        .get("/events?per_page=1000")
        .await
        .expect(StatusCode::OK);
    assert_eq!(big.as_array().unwrap().len(), 101);
}

#[sqlx::test]
async fn list_filters_by_url_user_and_type_alone_and_combined(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    let id = |v: &Value| v["id"].as_i64().unwrap();
    let ada_note = app
        .post_event(
            json!({"url_id": f.ada_link["id"], "user_id": f.ada["id"], "event_type": "note"}),
        )
        .await;
    // Bob acting on Ada's link: the event's user is Bob.
    let bob_on_ada = app
        .post_event(
            json!({"url_id": f.ada_link["id"], "user_id": f.bob["id"], "event_type": "note"}),
        )
        .await;
    let bob_share = app
        .post_event(
            json!({"url_id": f.bob_link["id"], "user_id": f.bob["id"], "event_type": "share"}),
        )
        .await;
    let anon_note = app
        .post_event(json!({"url_id": f.anon_link["id"], "event_type": "note"}))
        .await;
    let created: Vec<i64> = app
        .get("/events?event_type=created")
        .await
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(created.len(), 3);
    let (ada_created, bob_created, anon_created) = (created[0], created[1], created[2]);

    let (ada_link, bob_link, anon_link) =
        (&f.ada_link["id"], &f.bob_link["id"], &f.anon_link["id"]);
    let (ada, bob) = (&f.ada["id"], &f.bob["id"]);
    let cases = [
        (
            format!("url_id={ada_link}"),
            vec![ada_created, id(&ada_note), id(&bob_on_ada)],
        ),
        (
            format!("url_id={bob_link}"),
            vec![bob_created, id(&bob_share)],
        ),
        (
            format!("url_id={anon_link}"),
            vec![anon_created, id(&anon_note)],
        ),
        (format!("user_id={ada}"), vec![ada_created, id(&ada_note)]),
        (
            format!("user_id={bob}"),
            vec![bob_created, id(&bob_on_ada), id(&bob_share)],
        ),
        (
            "event_type=note".to_owned(),
            vec![id(&ada_note), id(&bob_on_ada), id(&anon_note)],
        ),
        ("event_type=share".to_owned(), vec![id(&bob_share)]),
        ("event_type=nothing".to_owned(), vec![]),
        (
            format!("url_id={ada_link}&user_id={bob}"),
            vec![id(&bob_on_ada)],
        ),
        (
            format!("url_id={ada_link}&event_type=note"),
            vec![id(&ada_note), id(&bob_on_ada)],
        ),
        (
            format!("user_id={bob}&event_type=created"),
            vec![bob_created],
        ),
        (
            format!("url_id={ada_link}&user_id={ada}&event_type=note"),
            vec![id(&ada_note)],
        ),
        (format!("url_id={bob_link}&user_id={ada}"), vec![]),
        ("url_id=999999".to_owned(), vec![]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("/events?{query}")).await;
        let body = response.expect(StatusCode::OK);
        assert_eq!(ids_of(&body), expected, "{query}");
        assert_eq!(
            response.header("x-total-count"),
            Some(expected.len().to_string().as_str()),
            "{query}"
        );
    }
    let response = app
        .get(&format!("/events?user_id={bob}&per_page=1&page=3"))
        .await;
    assert_eq!(ids_of(&response.expect(StatusCode::OK)), [id(&bob_share)]);
    assert_eq!(
        response.header("x-total-count"),
        Some("3"),
        "the count is of the filtered set"
    );
}

#[sqlx::test]
async fn list_filters_and_pagination_of_the_wrong_type_are_400(pool: PgPool) {
    let app = TestApp::new(pool);
    for (query, field) in [
        ("url_id=abc", "url_id"),
        ("url_id=1.5", "url_id"),
        ("user_id=abc", "user_id"),
        ("user_id=-", "user_id"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=0", "per_page"),
        ("per_page=1001", "per_page"),
    ] {
        let error = app
            .get(&format!("/events?{query}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error["details"][field].is_string(), "{query}: {error}");
    }
}

#[sqlx::test]
async fn details_are_always_json_objects_in_responses(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com", "user_id": user["id"]}))
        .await;
    let path = format!("/urls/{}", link["id"]);
    app.put_json(&path, json!({"title": "T", "is_active": false}))
        .await
        .expect(StatusCode::OK);
    app.put_json(&path, json!({"is_active": true}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        app.get(&format!("/{}", link["short_code"].as_str().unwrap()))
            .await
            .status,
        StatusCode::FOUND
    );
    app.post_event(json!({"url_id": link["id"], "event_type": "note"}))
        .await;
    app.post_event(
        json!({"url_id": link["id"], "event_type": "tagged", "details": {"tags": ["a"]}}),
    )
    .await;
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    let all = app.get("/events").await.expect(StatusCode::OK);
    let types: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "created", "updated", "updated", "updated", "click", "note", "tagged", "deleted"
        ]
    );
    for event in all.as_array().unwrap() {
        assert!(
            event["details"].is_object(),
            "details must be an object: {event}"
        );
    }
    let by_link = app.get(&format!("{path}/events")).await;
    // The link is deleted, so its own events route is 404, but /events keeps the history.
    by_link.expect_error(StatusCode::NOT_FOUND);
    for event in app.events_of(&link["id"]).await {
        assert!(event["details"].is_object(), "{event}");
    }
}
