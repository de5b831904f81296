//! Access and abuse: scoped API keys in front of every write and read of the API (with
//! redirects and probes public), and the link-safety rules on destinations.

mod binary;
mod blocklist_reload;
mod hardening;
mod link_safety;
mod locks_and_reports;
mod owners;
mod rate_limit;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::bodies::{Event, Link, User};
use crate::helpers::{TestApp, TestResponse};
use shortener_domain::{ApiKeys, Scope, api_key_file_line};
use shortener_server::replica::AppSettings;
use shortener_service::quota::CreateQuotaSettings;

pub(crate) const ADMIN: &str = "admin-secret-0123456789";
pub(crate) const WRITER: &str = "writer-secret-0123456789";
pub(crate) const READER: &str = "reader-secret-0123456789";

/// The app with one plain key (every scope) and a file key per lower scope.
pub(crate) fn app_with_keys(pool: PgPool) -> TestApp {
    app_with(pool, None)
}

/// [`app_with_keys`] with a per-key create quota.
fn app_with(pool: PgPool, create_quota: Option<CreateQuotaSettings>) -> TestApp {
    let file = format!(
        "{}\n{}\n",
        api_key_file_line("writer", Scope::Write, WRITER),
        api_key_file_line("reader", Scope::Read, READER),
    );
    let settings = AppSettings {
        api_keys: ApiKeys::from_config(Some(ADMIN), Some(&file)).unwrap(),
        create_quota,
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

/// A request with an optional key (sent as a Bearer token) and JSON body.
pub(crate) fn request(
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, bearer(key));
    }
    match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = request(method.as_str(), path, None, body);
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, value.parse().unwrap());
    }
    app.send(request).await
}

/// A request sent with `key`.
pub(crate) async fn as_key(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    call(app, method, path, Some(&bearer(key)), body).await
}

/// A user made with the admin key.
pub(crate) async fn make_user(app: &TestApp, name: &str) -> User {
    as_key(
        app,
        ADMIN,
        Method::POST,
        "/users",
        Some(json!({"username": name, "email": format!("{name}@example.com")})),
    )
    .await
    .expect_body(StatusCode::CREATED)
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[sqlx::test]
async fn writes_without_a_known_key_are_401_with_a_challenge_and_change_nothing(pool: PgPool) {
    let app = app_with_keys(pool.clone());
    let create = json!({"original_url": "https://example.com/a"});
    for authorization in [
        None,
        Some("Bearer wrong-key".to_owned()),
        Some(format!("Basic {ADMIN}")),
        Some(format!("Bearer {}", &ADMIN[..ADMIN.len() - 1])),
    ] {
        let response = call(
            &app,
            Method::POST,
            "/urls",
            authorization.as_deref(),
            Some(create.clone()),
        )
        .await;
        let body = response.expect_error(StatusCode::UNAUTHORIZED);
        assert!(body.error.contains("Bearer"), "{body}");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"shortener\"")
        );
    }
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM urls")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(links, 0, "a refused create wrote nothing");
}

#[sqlx::test]
async fn each_scope_opens_what_it_names_and_no_more(pool: PgPool) {
    let app = app_with_keys(pool);
    let user = json!({"username": "kim", "email": "kim@example.com"});
    // Users are admin's: a writer and a reader get 403 naming the scope.
    for key in [WRITER, READER] {
        let body = call(
            &app,
            Method::POST,
            "/users",
            Some(&bearer(key)),
            Some(user.clone()),
        )
        .await
        .expect_error(StatusCode::FORBIDDEN);
        assert_eq!(body.error, "this API key lacks the admin scope");
    }
    let user = call(
        &app,
        Method::POST,
        "/users",
        Some(&bearer(ADMIN)),
        Some(user),
    )
    .await
    .expect_body::<User>(StatusCode::CREATED);
    // Links are write's: the reader is refused, the writer and admin may.
    let link = json!({"original_url": "https://example.com/x", "user_id": user.id});
    let body = call(
        &app,
        Method::POST,
        "/urls",
        Some(&bearer(READER)),
        Some(link.clone()),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN);
    assert_eq!(body.error, "this API key lacks the write scope");
    let created = call(
        &app,
        Method::POST,
        "/urls",
        Some(&bearer(WRITER)),
        Some(link),
    )
    .await
    .expect_body::<Link>(StatusCode::CREATED);
    let path = format!("/urls/{}", created.id);
    call(
        &app,
        Method::PUT,
        &path,
        Some(&bearer(ADMIN)),
        Some(json!({"title": "t"})),
    )
    .await
    .expect(StatusCode::OK);
    // Reads need read, which every key has; users (their e-mail addresses) are the
    // admin's, and an owner key's own (access::owners).
    for key in [READER, WRITER] {
        let body = call(&app, Method::GET, "/users", Some(&bearer(key)), None)
            .await
            .expect_error(StatusCode::FORBIDDEN);
        assert_eq!(body.error, "this API key lacks the admin scope");
    }
    call(&app, Method::GET, "/users", Some(&bearer(ADMIN)), None)
        .await
        .expect(StatusCode::OK);
    for path in ["/urls", "/events", path.as_str()] {
        call(&app, Method::GET, path, None, None)
            .await
            .expect_error(StatusCode::UNAUTHORIZED);
        for key in [READER, WRITER, ADMIN] {
            call(&app, Method::GET, path, Some(&bearer(key)), None)
                .await
                .expect(StatusCode::OK);
        }
    }
    call(&app, Method::DELETE, &path, Some(&bearer(READER)), None)
        .await
        .expect_error(StatusCode::FORBIDDEN);
    call(
        &app,
        Method::DELETE,
        &path,
        Some(&format!("bearer {WRITER}")),
        None,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
}

/// The audit trail says which key changed a link; a click and an import are no key's.
#[sqlx::test]
async fn every_event_names_the_key_that_caused_it(pool: PgPool) {
    let app = app_with_keys(pool);
    let send = |method: Method, path: String, key: &'static str, body: Option<Value>| {
        let app = &app;
        async move { call(app, method, &path, Some(&bearer(key)), body).await }
    };
    let link = send(
        Method::POST,
        "/urls".into(),
        WRITER,
        Some(json!({"original_url": "https://example.com/who"})),
    )
    .await
    .expect_body::<Link>(StatusCode::CREATED);
    let path = format!("/urls/{}", link.id);
    send(
        Method::PUT,
        path.clone(),
        ADMIN,
        Some(json!({"title": "t"})),
    )
    .await
    .expect(StatusCode::OK);
    send(
        Method::POST,
        "/events".into(),
        WRITER,
        Some(json!({"url_id": link.id, "event_type": "note"})),
    )
    .await
    .expect(StatusCode::CREATED);
    app.get(&format!("/{}", link.short_code))
        .await
        .expect(StatusCode::FOUND);
    send(Method::DELETE, path, WRITER, None)
        .await
        .expect(StatusCode::NO_CONTENT);
    let trail: Vec<(String, Option<String>)> = send(
        Method::GET,
        format!("/events?url_id={}", link.id),
        READER,
        None,
    )
    .await
    .expect_body::<Vec<Event>>(StatusCode::OK)
    .into_iter()
    .map(|event| (event.event_type, event.actor))
    .collect();
    let named = |name: &str| Some(name.to_owned());
    assert_eq!(
        trail,
        [
            ("created".to_owned(), named("writer")),
            ("updated".to_owned(), named("env-1")),
            ("note".to_owned(), named("writer")),
            ("click".to_owned(), None),
            ("deleted".to_owned(), named("writer")),
        ]
    );
}

#[sqlx::test]
async fn redirects_probes_and_the_document_stay_public(pool: PgPool) {
    let app = app_with_keys(pool);
    let created = call(
        &app,
        Method::POST,
        "/urls",
        Some(&bearer(ADMIN)),
        Some(json!({"original_url": "https://example.com/open"})),
    )
    .await
    .expect_body::<Link>(StatusCode::CREATED);
    let code = &created.short_code;
    for path in [format!("/{code}"), format!("/urls/{code}/redirect")] {
        let response = call(&app, Method::GET, &path, None, None).await;
        assert_eq!(response.status, StatusCode::FOUND, "{path}");
    }
    for path in ["/health", "/live", "/ready", "/openapi.json"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    // An unknown route is a 404 whatever the key, and reveals nothing more.
    call(&app, Method::POST, "/nope/nope", None, None)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn an_unauthorized_bulk_import_is_refused_before_its_body_is_read(pool: PgPool) {
    let app = app_with_keys(pool.clone());
    // Larger than the JSON limit and not a valid form: only the key check can answer.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/users/bulk")
        .header(header::AUTHORIZATION, bearer(WRITER))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(Body::from(vec![b'x'; 2 * 1024 * 1024]))
        .unwrap();
    app.send(request).await.expect_error(StatusCode::FORBIDDEN);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[sqlx::test]
async fn without_keys_the_api_is_open(pool: PgPool) {
    let app = TestApp::new(pool);
    app.shorten("https://example.com/open").await;
    assert_eq!(app.get("/urls").await.status, StatusCode::OK);
}
