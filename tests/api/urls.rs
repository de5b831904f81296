//! `/urls`: creation rules, reads, filtered lists, partial updates, soft deletion,
//! and each link's events and click statistics.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

const URL_FIELDS: [&str; 9] = [
    "id",
    "user_id",
    "short_code",
    "original_url",
    "title",
    "is_active",
    "expires_at",
    "created_at",
    "updated_at",
];

/// Asserts `value` is a timestamp in the API format, `YYYY-MM-DDTHH:MM:SS`.
#[track_caller]
fn assert_api_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert!(
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
            && text.len() == 19,
        "not YYYY-MM-DDTHH:MM:SS: {text}"
    );
}

/// The sorted keys of a JSON object.
fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    fields.sort();
    fields
}

/// Ids of the items of a list body.
fn ids_of(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Follows a short link with an optional `Referer`, expecting the redirect.
async fn click(app: &TestApp, code: &str, referrer: Option<&str>) {
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(format!("/{code}"));
    if let Some(referrer) = referrer {
        request = request.header(header::REFERER, referrer);
    }
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status, StatusCode::FOUND, "click on {code}");
}

// ---- POST /urls ----

#[sqlx::test]
async fn create_returns_201_with_exactly_the_url_fields(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/page?q=1#top", "user_id": user["id"], "title": "Example"}))
        .await;
    assert_eq!(keys_of(&link), sorted(&URL_FIELDS), "{link}");
    assert!(link["id"].as_i64().unwrap() > 0);
    assert_eq!(link["user_id"], user["id"]);
    assert_eq!(link["original_url"], "https://example.com/page?q=1#top");
    assert_eq!(link["title"], "Example");
    assert_eq!(link["is_active"], true);
    assert_eq!(link["expires_at"], Value::Null);
    assert_api_timestamp(&link["created_at"]);
    assert_api_timestamp(&link["updated_at"]);
    assert_eq!(link["created_at"], link["updated_at"]);
    let fetched = app.get_link(&link["id"]).await.expect(StatusCode::OK);
    assert_eq!(fetched, link);
}

#[sqlx::test]
async fn anonymous_link_has_null_user_and_title(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(link["user_id"], Value::Null);
    assert_eq!(link["title"], Value::Null);
}

#[sqlx::test]
async fn url_is_accepted_as_an_alias_of_original_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"url": "https://example.com/alias"}))
        .await;
    assert_eq!(link["original_url"], "https://example.com/alias");
}

#[sqlx::test]
async fn generated_code_is_7_base62_characters(pool: PgPool) {
    let app = TestApp::new(pool);
    for _ in 0..20 {
        let link = app.shorten("https://example.com").await;
        let code = link["short_code"].as_str().unwrap();
        assert_eq!(code.len(), 7, "{code}");
        assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");
    }
}

#[sqlx::test]
async fn same_url_posted_twice_gets_two_different_codes(pool: PgPool) {
    let app = TestApp::new(pool);
    let first = app.shorten("https://example.com/same").await;
    let second = app.shorten("https://example.com/same").await;
    assert_ne!(first["short_code"], second["short_code"]);
    assert_ne!(first["id"], second["id"]);
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
        assert!(
            error["details"]["original_url"].is_string(),
            "{bad:?}: {error}"
        );
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
        assert!(
            error["details"]["original_url"].is_string(),
            "{body}: {error}"
        );
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
    assert_eq!(link["original_url"], url.as_str());
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
    assert!(error["details"]["user_id"].is_string(), "{error}");
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
        app.delete_user(&user["id"]).await.status,
        StatusCode::NO_CONTENT
    );
    app.post_json(
        "/urls",
        json!({"original_url": "https://example.com", "user_id": user["id"]}),
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
        assert_eq!(link["short_code"], code);
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
        assert!(
            error["details"]["short_code"].is_string(),
            "{bad:?}: {error}"
        );
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
        assert!(
            error["details"]["short_code"].is_string(),
            "{code}: {error}"
        );
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
    assert!(error["details"]["short_code"].is_string(), "{error}");
    let all = app.get("/urls").await.expect(StatusCode::OK);
    assert_eq!(ids_of(&all), [first["id"].as_i64().unwrap()]);
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
        assert!(
            error["details"]["expires_at"].is_string(),
            "{bad:?}: {error}"
        );
    }
    let error = app
        .post_json(
            "/urls",
            json!({"original_url": "https://example.com", "expires_at": 4102444800_i64}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error["details"]["expires_at"].is_string(), "{error}");
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
    assert_eq!(link["expires_at"], "2099-01-02T03:04:05");
    let with_offset = app
        .create_link(json!({"original_url": "https://example.com", "expires_at": "2099-01-02T05:04:05+02:00"}))
        .await;
    assert_eq!(
        with_offset["expires_at"], "2099-01-02T03:04:05",
        "converted to UTC"
    );
    let fetched = app.get_link(&link["id"]).await.expect(StatusCode::OK);
    assert_eq!(fetched["expires_at"], "2099-01-02T03:04:05");
}

#[sqlx::test]
async fn create_writes_a_created_event_with_code_and_url(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/x", "user_id": user["id"], "short_code": "created1"}))
        .await;
    let events = app.events_of(&link["id"]).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["event_type"], "created");
    assert_eq!(event["url_id"], link["id"]);
    assert_eq!(event["user_id"], user["id"]);
    assert_eq!(
        event["details"],
        json!({"short_code": "created1", "original_url": "https://example.com/x"})
    );
    assert_api_timestamp(&event["timestamp"]);
}

// ---- GET /urls ----

#[sqlx::test]
async fn list_is_ordered_by_id_counted_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.shorten(&format!("https://example.com/{i}")).await);
    }
    let response = app.get("/urls").await;
    let all = response.expect(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("5"));
    assert_eq!(
        all,
        Value::Array(created.clone()),
        "full objects in id order"
    );
    let ids = ids_of(&all);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let response = app.get("/urls?page=2&per_page=2").await;
    let page = response.expect(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("5"));
    assert_eq!(ids_of(&page), [ids[2], ids[3]]);
    let last = app
        .get("/urls?page=3&per_page=2")
        .await
        .expect(StatusCode::OK);
    assert_eq!(ids_of(&last), [ids[4]]);
    let response = app.get("/urls?page=9").await;
    assert_eq!(response.expect(StatusCode::OK), json!([]));
    assert_eq!(response.header("x-total-count"), Some("5"));
}

#[sqlx::test]
async fn list_pagination_out_of_range_is_400(pool: PgPool) {
    let app = TestApp::new(pool);
    for query in [
        "page=0",
        "per_page=0",
        "per_page=1001",
        "page=-1",
        "page=abc",
        "per_page=1.5",
    ] {
        let error = app
            .get(&format!("/urls?{query}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let field = query.split('=').next().unwrap();
        assert!(error["details"][field].is_string(), "{query}: {error}");
    }
    app.get("/urls?per_page=1000").await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn list_filters_by_user_and_state(pool: PgPool) {
    let app = TestApp::new(pool);
    let ada = app.create_user("ada", "ada@example.com").await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let ada1 = app
        .create_link(json!({"original_url": "https://a.example/1", "user_id": ada["id"]}))
        .await;
    let ada2 = app
        .create_link(json!({"original_url": "https://a.example/2", "user_id": ada["id"]}))
        .await;
    let bob1 = app
        .create_link(json!({"original_url": "https://b.example/1", "user_id": bob["id"]}))
        .await;
    let anon = app.shorten("https://anon.example").await;
    app.update_link(&ada2["id"], json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    let id = |link: &Value| link["id"].as_i64().unwrap();

    let cases = [
        (format!("user_id={}", ada["id"]), vec![id(&ada1), id(&ada2)]),
        (format!("user_id={}", bob["id"]), vec![id(&bob1)]),
        ("user_id=999999".to_owned(), vec![]),
        (
            "is_active=true".to_owned(),
            vec![id(&ada1), id(&bob1), id(&anon)],
        ),
        ("is_active=false".to_owned(), vec![id(&ada2)]),
        (
            format!("user_id={}&is_active=true", ada["id"]),
            vec![id(&ada1)],
        ),
        (format!("user_id={}&is_active=false", bob["id"]), vec![]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("/urls?{query}")).await;
        let body = response.expect(StatusCode::OK);
        assert_eq!(ids_of(&body), expected, "{query}");
        assert_eq!(
            response.header("x-total-count"),
            Some(expected.len().to_string().as_str()),
            "{query}"
        );
    }
    let response = app
        .get(&format!("/urls?user_id={}&per_page=1&page=2", ada["id"]))
        .await;
    assert_eq!(ids_of(&response.expect(StatusCode::OK)), [id(&ada2)]);
    assert_eq!(
        response.header("x-total-count"),
        Some("2"),
        "the count is of the filtered set"
    );
}

#[sqlx::test]
async fn list_filters_of_the_wrong_type_are_400(pool: PgPool) {
    let app = TestApp::new(pool);
    for (query, field) in [
        ("is_active=maybe", "is_active"),
        ("is_active=1", "is_active"),
        ("user_id=abc", "user_id"),
        ("user_id=1.5", "user_id"),
    ] {
        let error = app
            .get(&format!("/urls?{query}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error["details"][field].is_string(), "{query}: {error}");
    }
}

// ---- GET /urls/{id} ----

#[sqlx::test]
async fn get_is_200_or_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(app.get_link(&link["id"]).await.expect(StatusCode::OK), link);
    app.get_link(999999)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

// ---- PUT /urls/{id} ----

#[sqlx::test]
async fn put_updates_only_the_fields_given_and_moves_updated_at(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com/old", "title": "Old"}))
        .await;
    let path = format!("/urls/{}", link["id"]);
    // Timestamps have second precision.
    app.wait_for_the_clock_to_pass(&link["updated_at"]).await;

    let moved = app
        .put_json(&path, json!({"original_url": "https://example.com/new"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(keys_of(&moved), sorted(&URL_FIELDS));
    assert_eq!(moved["original_url"], "https://example.com/new");
    assert_eq!(moved["title"], "Old");
    assert_eq!(moved["is_active"], true);
    assert_eq!(moved["short_code"], link["short_code"]);
    assert_eq!(moved["created_at"], link["created_at"]);
    assert!(
        moved["updated_at"].as_str().unwrap() > link["updated_at"].as_str().unwrap(),
        "updated_at moves: {} -> {}",
        link["updated_at"],
        moved["updated_at"]
    );

    let retitled = app
        .put_json(&path, json!({"title": "New"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (
            retitled["original_url"].as_str(),
            retitled["title"].as_str()
        ),
        (Some("https://example.com/new"), Some("New"))
    );
    let paused = app
        .put_json(&path, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(paused["is_active"], false);
    let expiring = app
        .put_json(&path, json!({"expires_at": "2099-06-30T12:00:00"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(expiring["expires_at"], "2099-06-30T12:00:00");
    assert_eq!(expiring["is_active"], false);
    assert_eq!(expiring["title"], "New");
    let cleared = app
        .put_json(&path, json!({"title": null, "expires_at": null}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (cleared["title"].clone(), cleared["expires_at"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(app.get(&path).await.expect(StatusCode::OK), cleared);
}

#[sqlx::test]
async fn put_writes_one_updated_event_per_changed_field(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/old", "title": "Same", "user_id": user["id"]}))
        .await;
    let path = format!("/urls/{}", link["id"]);
    app.put_json(
        &path,
        json!({
            "original_url": "https://example.com/new",
            "title": "Same",
            "is_active": false,
            "expires_at": "2099-01-02T03:04:05",
        }),
    )
    .await
    .expect(StatusCode::OK);
    let updates = app.events_of_type(&link["id"], "updated").await;
    let details: Vec<Value> = updates.iter().map(|e| e["details"].clone()).collect();
    let mut fields: Vec<&str> = details
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["expires_at", "is_active", "original_url"],
        "title did not change: {details:?}"
    );
    for detail in &details {
        assert_eq!(keys_of(detail), sorted(&["field", "new_value"]), "{detail}");
        let expected = match detail["field"].as_str().unwrap() {
            "original_url" => json!("https://example.com/new"),
            "is_active" => json!(false),
            "expires_at" => json!("2099-01-02T03:04:05"),
            other => panic!("unexpected field {other}"),
        };
        assert_eq!(detail["new_value"], expected, "{detail}");
    }
    for event in &updates {
        assert_eq!(event["url_id"], link["id"]);
        assert_eq!(event["user_id"], user["id"]);
    }

    app.put_json(&path, json!({"title": null}))
        .await
        .expect(StatusCode::OK);
    let updates = app.events_of_type(&link["id"], "updated").await;
    assert_eq!(updates.len(), 4);
    assert_eq!(
        updates[3]["details"],
        json!({"field": "title", "new_value": null})
    );
}

#[sqlx::test]
async fn put_without_changes_writes_no_event_and_keeps_updated_at(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com", "title": "T"}))
        .await;
    let path = format!("/urls/{}", link["id"]);
    app.wait_for_the_clock_to_pass(&link["updated_at"]).await;
    let same = app
        .put_json(
            &path,
            json!({"original_url": "https://example.com", "title": "T", "is_active": true}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(same, link);
    let empty = app.put_json(&path, json!({})).await.expect(StatusCode::OK);
    assert_eq!(empty, link);
    assert!(app.events_of_type(&link["id"], "updated").await.is_empty());
}

#[sqlx::test]
async fn put_validates_fields_and_changes_nothing_on_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let path = format!("/urls/{}", link["id"]);
    let cases = [
        (json!({"original_url": "hello"}), "original_url"),
        (
            json!({"original_url": "javascript:alert(1)"}),
            "original_url",
        ),
        (json!({"original_url": null}), "original_url"),
        (json!({"original_url": 7}), "original_url"),
        (json!({"is_active": null}), "is_active"),
        (json!({"is_active": "yes"}), "is_active"),
        (json!({"is_active": 1}), "is_active"),
        (json!({"expires_at": "soon"}), "expires_at"),
        (json!({"title": 5}), "title"),
        (
            json!({"title": "New", "original_url": "ftp://x"}),
            "original_url",
        ),
    ];
    for (body, field) in cases {
        let error = app
            .put_json(&path, body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"][field].is_string(),
            "{body} should name {field}: {error}"
        );
    }
    app.raw(Method::PUT, &path, Some("application/json"), "[1]")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.raw(Method::PUT, &path, Some("application/json"), "{")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get(&path).await.expect(StatusCode::OK),
        link,
        "nothing changed"
    );
    assert!(app.events_of_type(&link["id"], "updated").await.is_empty());
}

#[sqlx::test]
async fn put_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.update_link(424242, json!({"title": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

// ---- DELETE /urls/{id} ----

#[sqlx::test]
async fn delete_is_204_then_the_link_is_gone_everywhere(pool: PgPool) {
    let app = TestApp::new(pool);
    let kept = app.shorten("https://example.com/kept").await;
    let link = app.shorten("https://example.com/doomed").await;
    let path = format!("/urls/{}", link["id"]);
    let response = app.delete(&path).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());

    app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
    app.put_json(&path, json!({"title": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.delete(&path).await.expect_error(StatusCode::NOT_FOUND);
    app.get(&format!("{path}/events"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.get(&format!("{path}/stats"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    let response = app.get("/urls").await;
    assert_eq!(
        ids_of(&response.expect(StatusCode::OK)),
        [kept["id"].as_i64().unwrap()]
    );
    assert_eq!(response.header("x-total-count"), Some("1"));
    let inactive = app.get("/urls?is_active=true").await.expect(StatusCode::OK);
    assert_eq!(ids_of(&inactive), [kept["id"].as_i64().unwrap()]);
}

#[sqlx::test]
async fn delete_writes_a_deleted_event_and_keeps_the_history(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(
        app.delete_link(&link["id"]).await.status,
        StatusCode::NO_CONTENT
    );
    let events = app.events_of(&link["id"]).await;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["created", "deleted"]);
    assert_eq!(events[1]["details"], json!({"reason": "user_requested"}));
    assert_eq!(events[1]["url_id"], link["id"]);
}

#[sqlx::test]
async fn delete_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.delete_link(424242)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

// ---- GET /urls/{id}/events ----

#[sqlx::test]
async fn link_events_are_that_links_only_in_id_order_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/0").await;
    let other = app.shorten("https://other.example").await;
    let path = format!("/urls/{}", link["id"]);
    for i in 1..=3 {
        app.put_json(
            &path,
            json!({"original_url": format!("https://example.com/{i}")}),
        )
        .await
        .expect(StatusCode::OK);
    }
    click(&app, other["short_code"].as_str().unwrap(), None).await;

    let response = app.get(&format!("{path}/events")).await;
    let all = response.expect(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("4"));
    let events = all.as_array().unwrap();
    assert!(events.iter().all(|e| e["url_id"] == link["id"]), "{all}");
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["created", "updated", "updated", "updated"]);
    let ids = ids_of(&all);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    let response = app.get(&format!("{path}/events?page=2&per_page=3")).await;
    let page = response.expect(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("4"));
    assert_eq!(ids_of(&page), [ids[3]]);
    assert_eq!(
        page[0]["details"],
        json!({"field": "original_url", "new_value": "https://example.com/3"})
    );
    app.get(&format!("{path}/events?per_page=0"))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn link_events_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/urls/424242/events")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

// ---- GET /urls/{id}/stats ----

#[sqlx::test]
async fn stats_count_clicks_by_day_and_referrer(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let other = app.shorten("https://other.example").await;
    let code = link["short_code"].as_str().unwrap();
    click(&app, code, Some("https://a.example/")).await;
    click(&app, code, Some("https://b.example/")).await;
    click(&app, code, Some("https://a.example/")).await;
    click(&app, code, None).await;
    click(&app, code, Some("https://a.example/")).await;
    // Neither a HEAD nor another link's click counts.
    assert_eq!(
        app.head(&format!("/{code}")).await.status,
        StatusCode::FOUND
    );
    click(
        &app,
        other["short_code"].as_str().unwrap(),
        Some("https://b.example/"),
    )
    .await;

    let stats = app.link_stats(&link["id"]).await.expect(StatusCode::OK);
    assert_eq!(
        keys_of(&stats),
        sorted(&[
            "url_id",
            "short_code",
            "clicks",
            "last_click_at",
            "clicks_by_day",
            "top_referrers"
        ]),
        "{stats}"
    );
    assert_eq!(stats["url_id"], link["id"]);
    assert_eq!(stats["short_code"], code);
    assert_eq!(stats["clicks"], 5);

    let clicks = app.events_of_type(&link["id"], "click").await;
    assert_eq!(clicks.len(), 5);
    assert_eq!(stats["last_click_at"], clicks[4]["timestamp"]);

    let days = stats["clicks_by_day"].as_array().unwrap();
    assert_eq!(days.len(), 30, "{stats}");
    let today = chrono::Utc::now().date_naive();
    let dates: Vec<chrono::NaiveDate> = days
        .iter()
        .map(|d| {
            assert_eq!(keys_of(d), sorted(&["date", "clicks"]), "{d}");
            chrono::NaiveDate::parse_from_str(d["date"].as_str().unwrap(), "%Y-%m-%d").unwrap()
        })
        .collect();
    assert_eq!(dates[29], today, "the last day is today (UTC)");
    assert_eq!(dates[0], today - chrono::Days::new(29));
    assert!(
        dates
            .windows(2)
            .all(|w| w[1] == w[0] + chrono::Days::new(1)),
        "consecutive days"
    );
    assert_eq!(days[29]["clicks"], 5);
    assert!(days[..29].iter().all(|d| d["clicks"] == 0), "{stats}");

    let referrers = stats["top_referrers"].as_array().unwrap();
    for entry in referrers {
        assert_eq!(keys_of(entry), sorted(&["referrer", "clicks"]), "{entry}");
    }
    let named: Vec<Value> = referrers
        .iter()
        .filter(|r| !r["referrer"].is_null())
        .cloned()
        .collect();
    assert_eq!(
        named,
        [
            json!({"referrer": "https://a.example/", "clicks": 3}),
            json!({"referrer": "https://b.example/", "clicks": 1})
        ],
        "most-clicked first: {stats}"
    );
    if let Some(unknown) = referrers.iter().find(|r| r["referrer"].is_null()) {
        assert_eq!(unknown["clicks"], 1, "the click without a Referer: {stats}");
    }
}

#[sqlx::test]
async fn stats_of_a_link_without_clicks_are_zero(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let stats = app.link_stats(&link["id"]).await.expect(StatusCode::OK);
    assert_eq!(stats["clicks"], 0);
    assert_eq!(stats["last_click_at"], Value::Null);
    assert_eq!(stats["top_referrers"], json!([]));
    let days = stats["clicks_by_day"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert!(days.iter().all(|d| d["clicks"] == 0), "{stats}");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(days[29]["date"], today.as_str());
}

#[sqlx::test]
async fn stats_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/urls/424242/stats")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
