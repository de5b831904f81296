//! `/users`: creation rules, reads, lists, partial updates and soft deletion; erasure in
//! its own module.

mod erasure;

use crate::helpers::TestApp;
use crate::helpers::bodies::{Event, Link, User};
use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test]
async fn create_user_returns_201_with_the_user(pool: PgPool) {
    let app = TestApp::new(pool);
    let response = app
        .post_json(
            "/users",
            json!({"username": "  ada  ", "email": "ada@example.com"}),
        )
        .await;
    let raw = response.expect(StatusCode::CREATED);
    let user = response.body::<User>();
    assert!(user.id > 0);
    assert_eq!(user.username, "ada", "username is trimmed");
    assert_eq!(user.email, "ada@example.com");
    let created_at = user.created_at.as_str();
    assert_eq!(
        created_at.len(),
        "2026-01-31T23:59:59".len(),
        "{created_at}"
    );
    assert_eq!(&created_at[10..11], "T");
    assert_eq!(
        raw.as_object().unwrap().len(),
        4,
        "exactly id, username, email, created_at: {raw}"
    );
}

#[sqlx::test]
async fn duplicate_email_is_409_case_insensitively(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_user("ada", "ada@example.com").await;
    let body = app
        .post_json(
            "/users",
            json!({"username": "other", "email": "ADA@Example.com"}),
        )
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(body.names("email"), "{body}");
}

#[sqlx::test]
async fn usernames_may_repeat(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_user("ada", "a1@example.com").await;
    app.create_user("ada", "a2@example.com").await;
}

#[sqlx::test]
async fn invalid_fields_are_400_with_details_per_field(pool: PgPool) {
    let app = TestApp::new(pool);
    let cases = [
        (
            json!({"username": "", "email": "a@example.com"}),
            "username",
        ),
        (
            json!({"username": "   ", "email": "a@example.com"}),
            "username",
        ),
        (
            json!({"username": "x".repeat(65), "email": "a@example.com"}),
            "username",
        ),
        (json!({"username": "ada", "email": "not-an-email"}), "email"),
        (json!({"username": "ada"}), "email"),
        (json!({"email": "a@example.com"}), "username"),
        (
            json!({"username": 42, "email": "a@example.com"}),
            "username",
        ),
        (
            json!({"username": "ada", "email": ["a@example.com"]}),
            "email",
        ),
        (
            json!({"username": null, "email": "a@example.com"}),
            "username",
        ),
    ];
    for (body, field) in cases {
        let error = app
            .post_json("/users", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{body} should name {field}: {error}");
    }
    let both = app
        .post_json("/users", json!({"username": "", "email": "nope"}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(both.names("username") && both.names("email"), "{both}");
    assert!(
        app.get("/users").await.body::<Vec<User>>().is_empty(),
        "nothing was created"
    );
}

#[sqlx::test]
async fn username_of_64_characters_is_accepted(pool: PgPool) {
    let app = TestApp::new(pool);
    app.create_user(&"é".repeat(64), "long@example.com").await;
}

#[sqlx::test]
async fn get_user_is_200_or_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let fetched = app
        .get_user(user.id)
        .await
        .expect_body::<User>(StatusCode::OK);
    assert_eq!(fetched, user);
    app.get_user(999999)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn list_is_ordered_by_id_paginated_and_counted(pool: PgPool) {
    let app = TestApp::new(pool);
    for i in 0..5 {
        app.create_user(&format!("u{i}"), &format!("u{i}@example.com"))
            .await;
    }
    let response = app.get("/users?page=2&per_page=2").await;
    let page = response.expect_body::<Vec<User>>(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("5"));
    let names: Vec<_> = page.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["u2", "u3"]);
    let all = app
        .get("/users")
        .await
        .expect_body::<Vec<User>>(StatusCode::OK);
    let ids: Vec<i64> = all.iter().map(|u| u.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ascending ids: {ids:?}"
    );
    let beyond = app
        .get("/users?page=9")
        .await
        .expect_body::<Vec<User>>(StatusCode::OK);
    assert_eq!(beyond, Vec::<User>::new());
}

#[sqlx::test]
async fn pagination_out_of_range_is_400(pool: PgPool) {
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
            .get(&format!("/users?{query}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let field = query.split('=').next().unwrap();
        assert!(error.names(field), "{query}: {error}");
    }
    app.get("/users?per_page=1000").await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn put_updates_only_the_fields_given(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let id = user.id;
    let renamed = app
        .update_user(id, json!({"username": "lovelace"}))
        .await
        .expect_body::<User>(StatusCode::OK);
    assert_eq!(renamed.username, "lovelace");
    assert_eq!(renamed.email, "ada@example.com");
    let moved = app
        .update_user(id, json!({"email": "ada@lovelace.org"}))
        .await
        .expect_body::<User>(StatusCode::OK);
    assert_eq!(
        (moved.username.as_str(), moved.email.as_str()),
        ("lovelace", "ada@lovelace.org")
    );
    assert_eq!(
        app.get_user(id).await.expect_body::<User>(StatusCode::OK),
        moved
    );
}

#[sqlx::test]
async fn put_validates_like_create_and_answers_404_and_409(pool: PgPool) {
    let app = TestApp::new(pool);
    let ada = app.create_user("ada", "ada@example.com").await;
    app.create_user("bob", "bob@example.com").await;
    let id = ada.id;
    app.update_user(id, json!({"email": "nope"}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.update_user(id, json!({"username": ""}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.update_user(id, json!({"username": null}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.update_user(id, json!({"email": "BOB@example.com"}))
        .await
        .expect_error(StatusCode::CONFLICT);
    app.update_user(424242, json!({"username": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    // Keeping one's own email (in another case) is not a conflict.
    app.update_user(id, json!({"email": "Ada@Example.com"}))
        .await
        .expect(StatusCode::OK);
}

#[sqlx::test]
async fn delete_hides_the_user_deactivates_links_and_keeps_events(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://example.com/a", "user_id": user.id}))
        .await;
    let id = user.id;
    let response = app.delete_user(id).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    app.get_user(id).await.expect_error(StatusCode::NOT_FOUND);
    app.delete_user(id)
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.update_user(id, json!({"username": "x"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/users").await.body::<Vec<User>>(),
        Vec::<User>::new()
    );

    let link_now = app
        .get_link(link.id)
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert!(
        !link_now.is_active,
        "links of a deleted user are deactivated"
    );
    let code = &link.short_code;
    app.get(&format!("/{code}"))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    let events = app
        .get(&format!("/events?user_id={}", user.id))
        .await
        .expect_body::<Vec<Event>>(StatusCode::OK);
    assert!(!events.is_empty(), "the user's events are kept");

    // The address is free again, and links can no longer name the deleted user.
    app.create_user("ada again", "ada@example.com").await;
    app.post_json(
        "/urls",
        json!({"original_url": "https://example.com", "user_id": user.id}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
}
