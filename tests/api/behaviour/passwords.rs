//! Password links: an API client sends `X-Link-Password` (401 without, 403 wrong); a
//! browser gets a plain HTML form that posts the password and is sent on (303); wrong
//! guesses are bounded per link and client (429 past it); the password and its hash are
//! in no answer, no Redis entry and no log line of a real replica.

use axum::body::Body;
use axum::http::Request;

use super::*;
use crate::helpers::process::{request_with_headers, serve};
use crate::helpers::servers::RedisServer;

const SECRET: &str = "correct horse battery";

async fn protected_link(app: &TestApp) -> Link {
    app.create_link(json!({"original_url": "https://example.com/private", "password": SECRET}))
        .await
}

/// `POST /{code}` with the form's body.
async fn post_form(app: &TestApp, code: &str, body: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/{code}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

#[sqlx::test]
async fn an_api_client_sends_the_password_in_a_header(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = protected_link(&app).await;
    assert!(link.protected);
    let path = format!("/{}", link.short_code);
    let none = send_with(&app, Method::GET, &path, &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.header("www-authenticate"),
        Some("Link-Password realm=\"short link\"")
    );
    none.expect_error(StatusCode::UNAUTHORIZED);
    let wrong = send_with(&app, Method::GET, &path, &[("x-link-password", "not it")]).await;
    wrong.expect_error(StatusCode::FORBIDDEN);
    let right = send_with(&app, Method::GET, &path, &[("x-link-password", SECRET)]).await;
    assert_redirects_to(&right, "https://example.com/private");
    assert_eq!(
        app.events_of_type(link.id, "click").await.len(),
        1,
        "one visit"
    );
    // Removed, the link opens to everyone; set again, it is closed again.
    app.update_link(link.id, json!({"password": null}))
        .await
        .expect(StatusCode::OK);
    assert_redirects_to(
        &send_with(&app, Method::GET, &path, &[]).await,
        "https://example.com/private",
    );
    let closed: Link = app
        .update_link(link.id, json!({"password": "another one"}))
        .await
        .expect_body(StatusCode::OK);
    assert!(closed.protected);
    send_with(&app, Method::GET, &path, &[])
        .await
        .expect_error(StatusCode::UNAUTHORIZED);
    let changes: Vec<_> = app
        .events_of_type(link.id, "updated")
        .await
        .iter()
        .map(|e| e.details.clone())
        .collect();
    assert_eq!(
        changes,
        [
            json!({"field": "password", "new_value": null}),
            json!({"field": "password", "new_value": "set"})
        ]
    );
}

#[sqlx::test]
async fn a_browser_gets_a_form_that_posts_the_password(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = protected_link(&app).await;
    let page = send_with(
        &app,
        Method::GET,
        &format!("/{}", link.short_code),
        &[
            ("accept", "text/html,application/xhtml+xml"),
            ("user-agent", BROWSER),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body.to_vec()).unwrap();
    assert!(
        html.contains(&format!(
            "<form method=\"post\" action=\"/{}\">",
            link.short_code
        )),
        "{html}"
    );
    assert!(html.contains("name=\"password\""));
    let wrong = post_form(&app, &link.short_code, "password=nope+nope").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(
        String::from_utf8(wrong.body.to_vec())
            .unwrap()
            .contains("wrong password")
    );
    let right = post_form(
        &app,
        &link.short_code,
        &format!("password={}", SECRET.replace(' ', "+")),
    )
    .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(
        right.header("location"),
        Some("https://example.com/private")
    );
    post_form(&app, &link.short_code, "not a form at all=")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn wrong_guesses_are_bounded_per_link_and_client(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = protected_link(&app).await;
    let other = protected_link(&app).await;
    let path = format!("/{}", link.short_code);
    for _ in 0..5 {
        send_with(&app, Method::GET, &path, &[("x-link-password", "guess")])
            .await
            .expect_error(StatusCode::FORBIDDEN);
    }
    let limited = send_with(&app, Method::GET, &path, &[("x-link-password", SECRET)]).await;
    limited.expect_error(StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((290..=300).contains(&wait), "{wait}");
    let page = post_form(&app, &link.short_code, "password=guess+again").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // Another link is not held up.
    assert_redirects_to(
        &send_with(
            &app,
            Method::GET,
            &format!("/{}", other.short_code),
            &[("x-link-password", SECRET)],
        )
        .await,
        "https://example.com/private",
    );
}

#[sqlx::test]
async fn the_password_is_in_no_answer_redis_entry_or_log_line(pool: PgPool) {
    let redis = RedisServer::start();
    let (server, port) = serve(
        &pool,
        &[
            ("REDIS_URL", redis.url().as_str()),
            ("ALLOW_OPEN_API", "true"),
        ],
    )
    .await;
    let created = request_with_headers(
        port,
        "POST",
        "/urls",
        Some(
            &json!({"original_url": "https://example.com/private", "password": SECRET}).to_string(),
        ),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201);
    let link: Link = serde_json::from_slice(&created.body).unwrap();
    let mut answers = vec![created.text()];
    for (path, headers) in [
        (format!("/urls/{}", link.id), vec![]),
        ("/urls".to_owned(), vec![]),
        (format!("/urls/{}/events", link.id), vec![]),
        (
            format!("/{}", link.short_code),
            vec![("x-link-password", SECRET)],
        ),
        (
            format!("/{}", link.short_code),
            vec![("x-link-password", "wrong guess")],
        ),
        (
            format!("/{}", link.short_code),
            vec![("accept", "text/html")],
        ),
    ] {
        let response = request_with_headers(port, "GET", &path, None, &headers)
            .await
            .unwrap();
        answers.push(format!(
            "{} {:?} {}",
            response.status,
            response.headers,
            response.text()
        ));
    }
    let redis_values: Vec<String> = redis
        .cli(&["--scan"])
        .lines()
        .map(|key| redis.cli(&["GET", key]))
        .collect();
    assert!(!redis_values.is_empty(), "the link was cached in Redis");
    let log = server.log();
    for (what, text) in [
        ("answers", answers.join("\n")),
        ("Redis", redis_values.join("\n")),
        ("the log", log),
    ] {
        assert!(!text.contains(SECRET), "the password is in {what}: {text}");
        assert!(!text.contains("$argon2"), "a hash is in {what}: {text}");
    }
}
