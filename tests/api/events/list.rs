//! `GET /events`: the audit trail in id order, counted, paginated and filtered.

use super::*;

#[sqlx::test]
async fn list_is_ordered_by_id_counted_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    for i in 0..4 {
        app.post_event(
            json!({"url_id": f.anon_link.id, "event_type": "note", "details": {"i": i}}),
        )
        .await;
    }
    let response = app.get("/events").await;
    let all = response.expect_body::<Vec<Event>>(StatusCode::OK);
    assert_eq!(
        response.header("x-total-count"),
        Some("7"),
        "3 created + 4 notes"
    );
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 7);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");
    let types: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "created", "created", "created", "note", "note", "note", "note"
        ]
    );

    let response = app.get("/events?page=2&per_page=3").await;
    let page = response.expect_body::<Vec<Event>>(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("7"));
    assert_eq!(ids(&page), all_ids[3..6]);
    assert_eq!(page[0].details, json!({"i": 0}));
    let last = app
        .get("/events?page=3&per_page=3")
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK);
    assert_eq!(ids(&last), all_ids[6..]);
    let beyond = app.get("/events?page=4&per_page=3").await;
    assert_eq!(beyond.expect(StatusCode::OK), json!([]));
    assert_eq!(beyond.header("x-total-count"), Some("7"));
}

#[sqlx::test]
async fn list_pages_hold_100_events_by_default(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    for _ in 0..100 {
        app.post_event(json!({"url_id": link.id, "event_type": "note"}))
            .await;
    }
    let response = app.get("/events").await;
    assert_eq!(
        response.expect_body::<Vec<Event>>(StatusCode::OK).len(),
        100
    );
    assert_eq!(response.header("x-total-count"), Some("101"));
    let second = app
        .get("/events?page=2")
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK);
    assert_eq!(second.len(), 1);
    let big = app
        .get("/events?per_page=1000")
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK);
    assert_eq!(big.len(), 101);
}

#[sqlx::test]
async fn list_filters_by_url_user_and_type_alone_and_combined(pool: PgPool) {
    let app = TestApp::new(pool);
    let f = fixture(&app).await;
    let ada_note = app
        .post_event(json!({"url_id": f.ada_link.id, "user_id": f.ada.id, "event_type": "note"}))
        .await;
    // An event's user is its link's owner: Bob's name on Ada's link is refused, and an
    // event that names no one is Ada's.
    let error = app
        .post_json(
            "/events",
            json!({"url_id": f.ada_link.id, "user_id": f.bob.id, "event_type": "note"}),
        )
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("user_id"), "{error}");
    let bob_on_ada = app
        .post_event(json!({"url_id": f.ada_link.id, "event_type": "note"}))
        .await;
    assert_eq!(bob_on_ada.user_id, Some(f.ada.id));
    let bob_share = app
        .post_event(json!({"url_id": f.bob_link.id, "user_id": f.bob.id, "event_type": "share"}))
        .await;
    let anon_note = app
        .post_event(json!({"url_id": f.anon_link.id, "event_type": "note"}))
        .await;
    let created = ids(&app
        .get("/events?event_type=created")
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK));
    assert_eq!(created.len(), 3);
    let (ada_created, bob_created, anon_created) = (created[0], created[1], created[2]);

    let (ada_link, bob_link, anon_link) = (f.ada_link.id, f.bob_link.id, f.anon_link.id);
    let (ada, bob) = (f.ada.id, f.bob.id);
    let cases = [
        (
            format!("url_id={ada_link}"),
            vec![ada_created, ada_note.id, bob_on_ada.id],
        ),
        (
            format!("url_id={bob_link}"),
            vec![bob_created, bob_share.id],
        ),
        (
            format!("url_id={anon_link}"),
            vec![anon_created, anon_note.id],
        ),
        (
            format!("user_id={ada}"),
            vec![ada_created, ada_note.id, bob_on_ada.id],
        ),
        (format!("user_id={bob}"), vec![bob_created, bob_share.id]),
        (
            "event_type=note".to_owned(),
            vec![ada_note.id, bob_on_ada.id, anon_note.id],
        ),
        ("event_type=share".to_owned(), vec![bob_share.id]),
        ("event_type=nothing".to_owned(), vec![]),
        (format!("url_id={ada_link}&user_id={bob}"), vec![]),
        (
            format!("url_id={ada_link}&event_type=note"),
            vec![ada_note.id, bob_on_ada.id],
        ),
        (
            format!("user_id={bob}&event_type=created"),
            vec![bob_created],
        ),
        (
            format!("url_id={ada_link}&user_id={ada}&event_type=note"),
            vec![ada_note.id, bob_on_ada.id],
        ),
        (format!("url_id={bob_link}&user_id={ada}"), vec![]),
        ("url_id=999999".to_owned(), vec![]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("/events?{query}")).await;
        let body = response.expect_body::<Vec<Event>>(StatusCode::OK);
        assert_eq!(ids(&body), expected, "{query}");
        assert_eq!(
            response.header("x-total-count"),
            Some(expected.len().to_string().as_str()),
            "{query}"
        );
    }
    let response = app
        .get(&format!("/events?user_id={ada}&per_page=1&page=3"))
        .await;
    assert_eq!(
        ids(&response.expect_body::<Vec<Event>>(StatusCode::OK)),
        [bob_on_ada.id]
    );
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
        assert!(error.names(field), "{query}: {error}");
    }
}

#[sqlx::test]
async fn details_are_always_json_objects_in_responses(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com", "user_id": user.id}))
        .await;
    let path = format!("/urls/{}", link.id);
    app.put_json(&path, json!({"title": "T", "is_active": false}))
        .await
        .expect(StatusCode::OK);
    app.put_json(&path, json!({"is_active": true}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        app.get(&format!("/{}", link.short_code)).await.status,
        StatusCode::FOUND
    );
    app.post_event(json!({"url_id": link.id, "event_type": "note"}))
        .await;
    app.post_event(json!({"url_id": link.id, "event_type": "tagged", "details": {"tags": ["a"]}}))
        .await;
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    let all = app
        .get("/events")
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK);
    let types: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "created", "updated", "updated", "updated", "click", "note", "tagged", "deleted"
        ]
    );
    for event in &all {
        assert!(
            event.details.is_object(),
            "details must be an object: {event}"
        );
    }
    let by_link = app.get(&format!("{path}/events")).await;
    // The link is deleted, so its own events route is 404, but /events keeps the history.
    by_link.expect_error(StatusCode::NOT_FOUND);
    for event in app.events_of(link.id).await {
        assert!(event.details.is_object(), "{event}");
    }
}
