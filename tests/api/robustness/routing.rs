//! Unknown routes, wrong methods and impossible short codes answer in the error shape, and
//! every response carries a request id.

use super::*;

#[sqlx::test]
async fn unknown_route_is_404_and_wrong_method_is_405_in_the_error_shape(pool: PgPool) {
    let app = TestApp::new(pool);
    for path in ["/no/such/route", "/users/1/nothing", "/urls/1/events/2"] {
        let error = app.get(path).await.expect_error(StatusCode::NOT_FOUND);
        assert_eq!(error.error, "no such route", "{path}");
    }
    let unrouted = app
        .raw(Method::POST, "/a/b/c", Some("application/json"), "{}")
        .await;
    unrouted.expect_error(StatusCode::NOT_FOUND);
    for (method, path) in [
        (Method::PATCH, "/users/1"),
        (Method::DELETE, "/users"),
        (Method::PUT, "/users"),
        (Method::POST, "/health"),
        (Method::DELETE, "/events"),
        (Method::PUT, "/urls/1/stats"),
        (Method::PUT, "/abc1234"),
    ] {
        let response = app.raw(method.clone(), path, None, Body::empty()).await;
        assert_eq!(
            response.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        response.expect_error(StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[sqlx::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let app = &fixture.app;
    let over = "x".repeat(JSON_BODY_LIMIT + 1);
    let responses = [
        app.get("/users").await,
        app.post_json(
            "/users",
            json!({"username": "bob", "email": "bob@example.com"}),
        )
        .await,
        app.post_json("/users", json!({})).await,
        app.get_user(424242).await,
        app.get("/no/such/route").await,
        app.raw(Method::PATCH, "/users/1", None, Body::empty())
            .await,
        app.raw(Method::POST, "/users", Some("application/json"), over)
            .await,
        app.get(&format!("/{}", fixture.short_code)).await,
        app.head(&format!("/{}", fixture.short_code)).await,
        app.get("/live").await,
    ];
    let mut seen = std::collections::HashSet::new();
    for response in &responses {
        let id = response
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id: {response:?}"));
        assert!(!id.is_empty(), "{response:?}");
        assert!(seen.insert(id.to_owned()), "request ids repeat: {id}");
    }
    for path in ["/users", "/no/such/route"] {
        let request = Request::builder()
            .uri(path)
            .header("X-Request-ID", "abc-123")
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.header("x-request-id"), Some("abc-123"), "{path}");
    }
}

#[sqlx::test]
async fn short_codes_that_cannot_exist_are_404_json_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    for code in [
        "%FF",
        "abc%FFdef",
        "%C0%80",
        "%00",
        "abc%00def",
        "%F0%9F%98%80",
        "x",
        "%2E%2E",
    ] {
        for path in [format!("/{code}"), format!("/urls/{code}/redirect")] {
            let error = app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
            assert_ne!(error.error, "no such route", "{path}");
            assert_eq!(
                app.head(&path).await.status,
                StatusCode::NOT_FOUND,
                "HEAD {path}"
            );
        }
    }
}
