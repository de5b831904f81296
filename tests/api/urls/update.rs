//! `PUT /urls/{id}`: partial updates, one `updated` event per changed field, validation that
//! changes nothing on a 400.

use super::*;

#[sqlx::test]
async fn put_updates_only_the_fields_given_and_moves_updated_at(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com/old", "title": "Old"}))
        .await;
    let path = format!("/urls/{}", link.id);
    // Timestamps have second precision.
    app.wait_for_the_clock_to_pass(&json!(link.updated_at))
        .await;

    let response = app
        .put_json(&path, json!({"original_url": "https://example.com/new"}))
        .await;
    let raw = response.expect(StatusCode::OK);
    assert_eq!(keys_of(&raw), sorted(&URL_FIELDS));
    let moved: Link = response.body();
    assert_eq!(moved.original_url, "https://example.com/new");
    assert_eq!(moved.title.as_deref(), Some("Old"));
    assert!(moved.is_active);
    assert_eq!(moved.short_code, link.short_code);
    assert_eq!(moved.created_at, link.created_at);
    assert!(
        moved.updated_at > link.updated_at,
        "updated_at moves: {} -> {}",
        link.updated_at,
        moved.updated_at
    );

    let retitled: Link = app
        .put_json(&path, json!({"title": "New"}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        (retitled.original_url.as_str(), retitled.title.as_deref()),
        ("https://example.com/new", Some("New"))
    );
    let paused: Link = app
        .put_json(&path, json!({"is_active": false}))
        .await
        .expect_body(StatusCode::OK);
    assert!(!paused.is_active);
    let expiring: Link = app
        .put_json(&path, json!({"expires_at": "2099-06-30T12:00:00"}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(expiring.expires_at.as_deref(), Some("2099-06-30T12:00:00"));
    assert!(!expiring.is_active);
    assert_eq!(expiring.title.as_deref(), Some("New"));
    let cleared: Link = app
        .put_json(&path, json!({"title": null, "expires_at": null}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        (cleared.title.as_deref(), cleared.expires_at.as_deref()),
        (None, None)
    );
    assert_eq!(
        app.get(&path).await.expect_body::<Link>(StatusCode::OK),
        cleared
    );
}

#[sqlx::test]
async fn put_writes_one_updated_event_per_changed_field(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(
            json!({"original_url": "https://example.com/old", "title": "Same", "user_id": user.id}),
        )
        .await;
    let path = format!("/urls/{}", link.id);
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
    let updates = app.events_of_type(link.id, "updated").await;
    let details: Vec<Value> = updates.iter().map(|e| e.details.clone()).collect();
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
        assert_eq!(event.url_id, link.id);
        assert_eq!(event.user_id, Some(user.id));
    }

    app.put_json(&path, json!({"title": null}))
        .await
        .expect(StatusCode::OK);
    let updates = app.events_of_type(link.id, "updated").await;
    assert_eq!(updates.len(), 4);
    assert_eq!(
        updates[3].details,
        json!({"field": "title", "new_value": null})
    );
}

#[sqlx::test]
async fn put_without_changes_writes_no_event_and_keeps_updated_at(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com", "title": "T"}))
        .await;
    let path = format!("/urls/{}", link.id);
    app.wait_for_the_clock_to_pass(&json!(link.updated_at))
        .await;
    let same: Link = app
        .put_json(
            &path,
            json!({"original_url": "https://example.com", "title": "T", "is_active": true}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(same, link);
    let empty: Link = app
        .put_json(&path, json!({}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(empty, link);
    assert!(app.events_of_type(link.id, "updated").await.is_empty());
}

#[sqlx::test]
async fn put_validates_fields_and_changes_nothing_on_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let path = format!("/urls/{}", link.id);
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
        assert!(error.names(field), "{body} should name {field}: {error}");
    }
    app.raw(Method::PUT, &path, Some("application/json"), "[1]")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.raw(Method::PUT, &path, Some("application/json"), "{")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get(&path).await.expect_body::<Link>(StatusCode::OK),
        link,
        "nothing changed"
    );
    assert!(app.events_of_type(link.id, "updated").await.is_empty());
}

#[sqlx::test]
async fn put_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.update_link(424242, json!({"title": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
