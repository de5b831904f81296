//! `GET /urls` (order, count, pages, filters) and `GET /urls/{id}`.

use super::*;

#[sqlx::test]
async fn list_is_ordered_by_id_counted_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.shorten(&format!("https://example.com/{i}")).await);
    }
    let response = app.get("/urls").await;
    let all: Vec<Link> = response.expect_body(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("5"));
    assert_eq!(all, created, "full objects in id order");
    let all_ids = ids(&all);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");

    let response = app.get("/urls?page=2&per_page=2").await;
    let page: Vec<Link> = response.expect_body(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("5"));
    assert_eq!(ids(&page), [all_ids[2], all_ids[3]]);
    let last: Vec<Link> = app
        .get("/urls?page=3&per_page=2")
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(ids(&last), [all_ids[4]]);
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
        assert!(error.names(field), "{query}: {error}");
    }
    app.get("/urls?per_page=1000").await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn list_filters_by_user_and_state(pool: PgPool) {
    let app = TestApp::new(pool);
    let ada = app.create_user("ada", "ada@example.com").await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let ada1 = app
        .create_link(json!({"original_url": "https://a.example/1", "user_id": ada.id}))
        .await;
    let ada2 = app
        .create_link(json!({"original_url": "https://a.example/2", "user_id": ada.id}))
        .await;
    let bob1 = app
        .create_link(json!({"original_url": "https://b.example/1", "user_id": bob.id}))
        .await;
    let anon = app.shorten("https://anon.example").await;
    app.update_link(ada2.id, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);

    let cases = [
        (format!("user_id={}", ada.id), vec![ada1.id, ada2.id]),
        (format!("user_id={}", bob.id), vec![bob1.id]),
        ("user_id=999999".to_owned(), vec![]),
        ("is_active=true".to_owned(), vec![ada1.id, bob1.id, anon.id]),
        ("is_active=false".to_owned(), vec![ada2.id]),
        (format!("user_id={}&is_active=true", ada.id), vec![ada1.id]),
        (format!("user_id={}&is_active=false", bob.id), vec![]),
    ];
    for (query, expected) in cases {
        let response = app.get(&format!("/urls?{query}")).await;
        let body: Vec<Link> = response.expect_body(StatusCode::OK);
        assert_eq!(ids(&body), expected, "{query}");
        assert_eq!(
            response.header("x-total-count"),
            Some(expected.len().to_string().as_str()),
            "{query}"
        );
    }
    let response = app
        .get(&format!("/urls?user_id={}&per_page=1&page=2", ada.id))
        .await;
    assert_eq!(
        ids(&response.expect_body::<Vec<Link>>(StatusCode::OK)),
        [ada2.id]
    );
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
        assert!(error.names(field), "{query}: {error}");
    }
}

#[sqlx::test]
async fn get_is_200_or_404(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    assert_eq!(
        app.get_link(link.id)
            .await
            .expect_body::<Link>(StatusCode::OK),
        link
    );
    app.get_link(999999)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
