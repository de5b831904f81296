//! Hostile and malformed requests: every error is a JSON 4xx and never a 500, body limits
//! hold, unknown routes and methods answer in the error shape, every response carries a
//! request id, and the probes tell the truth with the database up, down, unmigrated or
//! while draining.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

use shortener::http::JSON_BODY_LIMIT;

/// Real rows, so that routes addressing an id reach their handler's logic.
struct Fixture {
    app: TestApp,
    user_id: i64,
    url_id: i64,
    short_code: String,
}

impl Fixture {
    async fn new(pool: PgPool) -> Self {
        let app = TestApp::new(pool);
        let user = app.create_user("ada", "ada@example.com").await;
        let link = app
            .create_link(json!({"original_url": "https://example.com/a", "user_id": user["id"]}))
            .await;
        Self {
            user_id: user["id"].as_i64().unwrap(),
            url_id: link["id"].as_i64().unwrap(),
            short_code: link["short_code"].as_str().unwrap().to_owned(),
            app,
        }
    }

    /// Every route taking a JSON body, with a body it accepts.
    fn json_routes(&self) -> Vec<(Method, String, Value)> {
        vec![
            (
                Method::POST,
                "/users".to_owned(),
                json!({"username": "bob", "email": "bob@example.com"}),
            ),
            (
                Method::PUT,
                format!("/users/{}", self.user_id),
                json!({"username": "lovelace"}),
            ),
            (
                Method::POST,
                "/urls".to_owned(),
                json!({"original_url": "https://example.com/b"}),
            ),
            (
                Method::PUT,
                format!("/urls/{}", self.url_id),
                json!({"title": "A title"}),
            ),
            (
                Method::POST,
                "/events".to_owned(),
                json!({"url_id": self.url_id, "event_type": "custom"}),
            ),
        ]
    }

    /// How many users, links and events exist, as the lists count them.
    async fn counts(&self) -> [String; 3] {
        let mut counts = Vec::new();
        for path in ["/users", "/urls", "/events"] {
            let response = self.app.get(path).await;
            response.expect(StatusCode::OK);
            counts.push(response.header("x-total-count").unwrap().to_owned());
        }
        counts.try_into().unwrap()
    }
}

/// What is wrong with a response to a hostile request, if anything: a 5xx, or a 4xx
/// whose body is not a JSON object with a string `error`.
fn mishandled(method: &Method, response: &TestResponse) -> Option<String> {
    let body = || {
        String::from_utf8_lossy(&response.body)
            .chars()
            .take(300)
            .collect::<String>()
    };
    if response.status.is_server_error() {
        return Some(format!("{} {}", response.status, body()));
    }
    if response.status.is_client_error() && method != Method::HEAD {
        let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
        if !parsed.as_ref().is_some_and(|v| v["error"].is_string()) {
            return Some(format!(
                "{} with a non-JSON error body {:?}",
                response.status,
                body()
            ));
        }
    }
    None
}

/// One request of the hostile table.
struct Case {
    method: Method,
    path: String,
    content_type: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
}

impl Case {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn json(method: Method, path: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::typed(method, path, "application/json", body)
    }

    fn typed(
        method: Method,
        path: impl Into<String>,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            content_type: Some(content_type.to_owned()),
            body: body.into(),
            ..Self::new(method, path)
        }
    }

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn describe(&self) -> String {
        let cut = |text: &str, max: usize| -> String {
            if text.chars().count() > max {
                format!("{}…", text.chars().take(max).collect::<String>())
            } else {
                text.to_owned()
            }
        };
        format!(
            "{} {} [{}] {}",
            self.method,
            cut(&self.path, 120),
            self.content_type.as_deref().unwrap_or("no content type"),
            cut(&String::from_utf8_lossy(&self.body), 160)
        )
    }

    async fn send(&self, app: &TestApp) -> TestResponse {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.path);
        if let Some(content_type) = &self.content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        app.send(request.body(Body::from(self.body.clone())).unwrap())
            .await
    }
}

/// `base` with `field` set to the raw JSON text `raw` (which may be invalid JSON).
fn with_raw_field(base: &Value, field: &str, raw: &str) -> String {
    let mut object = base.as_object().unwrap().clone();
    object.remove(field);
    let mut text = Value::Object(object).to_string();
    text.pop();
    if text.len() > 1 {
        text.push(',');
    }
    format!("{text}\"{field}\":{raw}}}")
}

/// A multipart form with one file field, as `(content type, body)`.
fn multipart(field: &str, contents: &[u8]) -> (String, Vec<u8>) {
    let boundary = "robustness-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(contents);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// JSON values (as raw text) that no field expects, or that stress storage.
fn hostile_values() -> Vec<String> {
    let long = "x".repeat(100 * 1024);
    let mut values: Vec<String> = [
        r#""\u0000""#,
        r#""a\u0000b""#,
        r#""\\u0000""#,
        r#""😀""#,
        r#""\ud83d\ude00\ud83d\ude00\ud83d\ude00""#,
        r#""\ud800""#,
        r#""\u202e\ufeff\u2028""#,
        r#""""#,
        r#""   ""#,
        "99999999999999999999",
        "-99999999999999999999",
        "1e400",
        "9223372036854775807",
        "-9223372036854775808",
        "0",
        "-1",
        "1.5",
        "1.0",
        "true",
        "null",
        "[]",
        "{}",
        r#"{"a":"\u0000"}"#,
        r#"{"\u0000":1}"#,
        r#"{"nested":{"deeper":["\u0000"]}}"#,
        r#""+262142-12-31T23:59:59""#,
        r#""-262143-01-01T00:00:00""#,
        r#""9999-12-31T23:59:59""#,
        r#""0001-01-01T00:00:00""#,
        r#""2026-02-30T00:00:00""#,
        r#""javascript:alert(1)""#,
        r#""https://😀.example/😀?q=😀""#,
        r#""http://[::1""#,
        r#""https://example.com/\u0000""#,
        r#""😀😀😀😀""#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    values.push(format!("\"{long}\""));
    values.push(format!("\"https://example.com/{long}\""));
    values.push(format!("\"{long}@example.com\""));
    values.push(format!("{{\"{long}\":\"{long}\"}}"));
    values.push("[".repeat(10_000));
    values.push(format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)));
    values.push(format!(
        "{}{}",
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    ));
    values
}

#[sqlx::test]
async fn malformed_bodies_are_400_json_errors_on_every_json_route(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let before = fixture.counts().await;
    for (method, path, valid) in fixture.json_routes() {
        let form: String = valid
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| format!("{key}={}", value.to_string().trim_matches('"')))
            .collect::<Vec<_>>()
            .join("&");
        let bodies: Vec<(Option<&str>, String, &str)> = vec![
            (
                Some("application/json"),
                r#"{"a":"#.to_owned(),
                "invalid JSON",
            ),
            (
                Some("application/json"),
                format!("[{valid}]"),
                "a JSON array",
            ),
            (
                Some("application/json"),
                r#""hello""#.to_owned(),
                "a JSON string",
            ),
            (Some("application/json"), "42".to_owned(), "a number"),
            (Some("application/json"), "null".to_owned(), "null"),
            (Some("application/json"), String::new(), "an empty body"),
            (Some("application/x-www-form-urlencoded"), form, "a form"),
            (Some("text/plain"), valid.to_string(), "plain text"),
            (None, valid.to_string(), "JSON without a content type"),
        ];
        for (content_type, body, what) in bodies {
            let response = fixture
                .app
                .raw(method.clone(), &path, content_type, body)
                .await;
            assert_eq!(
                response.status,
                StatusCode::BAD_REQUEST,
                "{method} {path} with {what}: {}",
                String::from_utf8_lossy(&response.body)
            );
            let error = response.json();
            assert!(
                error.is_object() && error["error"].is_string(),
                "{method} {path} with {what}: {error}"
            );
        }
    }
    assert_eq!(
        fixture.counts().await,
        before,
        "no rejected request wrote anything"
    );
    let user = fixture.app.get_user(fixture.user_id).await;
    assert_eq!(
        user.expect(StatusCode::OK)["username"],
        "ada",
        "no rejected PUT applied"
    );
}

#[sqlx::test]
async fn wrong_field_types_are_400_naming_the_field(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let user = format!("/users/{}", fixture.user_id);
    let link = format!("/urls/{}", fixture.url_id);
    let url_id = fixture.url_id;
    let cases = [
        (
            Method::POST,
            "/users",
            json!({"username": 42, "email": "b@example.com"}),
            "username",
        ),
        (
            Method::POST,
            "/users",
            json!({"username": "bob", "email": true}),
            "email",
        ),
        (Method::PUT, &user, json!({"username": ["bob"]}), "username"),
        (Method::PUT, &user, json!({"email": {}}), "email"),
        (
            Method::POST,
            "/urls",
            json!({"original_url": 42}),
            "original_url",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "user_id": "1"}),
            "user_id",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "user_id": 1.5}),
            "user_id",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "title": 5}),
            "title",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "short_code": 1234}),
            "short_code",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "expires_at": 1}),
            "expires_at",
        ),
        (
            Method::PUT,
            &link,
            json!({"original_url": 1}),
            "original_url",
        ),
        (Method::PUT, &link, json!({"title": []}), "title"),
        (
            Method::PUT,
            &link,
            json!({"is_active": "true"}),
            "is_active",
        ),
        (
            Method::PUT,
            &link,
            json!({"expires_at": false}),
            "expires_at",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": "1", "event_type": "custom"}),
            "url_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": true, "event_type": "custom"}),
            "url_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": 5}),
            "event_type",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "user_id": "x", "event_type": "custom"}),
            "user_id",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": "custom", "details": "text"}),
            "details",
        ),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": "custom", "details": [1]}),
            "details",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = fixture
            .app
            .raw(
                method.clone(),
                path,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"][field].is_string(),
            "{method} {path} {body} should name {field}: {error}"
        );
    }
    // Numbers beyond i64 are a field error too, not a parse failure of the whole body.
    let huge = r#"{"original_url": "https://example.com", "user_id": 99999999999999999999}"#;
    let error = fixture
        .app
        .raw(Method::POST, "/urls", Some("application/json"), huge)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error["details"]["user_id"].is_string(), "{error}");
}

/// Garbage in every part of every route of the contract.
fn hostile_table(fixture: &Fixture) -> Vec<Case> {
    let (user, link, code) = (fixture.user_id, fixture.url_id, &fixture.short_code);
    let long = "x".repeat(100 * 1024);
    // The `http` crate refuses URIs of 64 KiB or more.
    let long_in_uri = "x".repeat(60_000);
    let mut cases = Vec::new();

    // Ids in paths.
    let ids = [
        "99999999999999999999",
        "-99999999999999999999",
        "9223372036854775807",
        "-9223372036854775808",
        "-1",
        "0",
        "abc",
        "1.5",
        "1e3",
        "0x10",
        "+1",
        "%201",
        "%F0%9F%98%80",
        "%00",
        "1%00",
        "%FF",
        "%25",
        "%2F",
        "null",
        "true",
    ];
    let long_id = "9".repeat(1000);
    for id in ids.iter().copied().chain([long_id.as_str()]) {
        for template in ["/users/{}", "/urls/{}", "/urls/{}/events", "/urls/{}/stats"] {
            cases.push(Case::new(Method::GET, template.replace("{}", id)));
        }
        cases.push(Case::json(
            Method::PUT,
            format!("/users/{id}"),
            r#"{"username":"x"}"#,
        ));
        cases.push(Case::json(
            Method::PUT,
            format!("/urls/{id}"),
            r#"{"title":"x"}"#,
        ));
        cases.push(Case::new(Method::DELETE, format!("/users/{id}")));
        cases.push(Case::new(Method::DELETE, format!("/urls/{id}")));
    }

    // Short codes in paths.
    let long_code = "a".repeat(10_000);
    let codes = [
        "%00",
        "abc%00def",
        "%FF",
        "abc%FFdef",
        "%F0%9F%98%80",
        "%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80",
        "%2F",
        "%2E%2E",
        "..",
        "x",
        "null",
        "%25%25%25",
        "abc%20def",
        long_code.as_str(),
    ];
    let real_with_nul = format!("{code}%00");
    for code in codes.iter().copied().chain([real_with_nul.as_str()]) {
        for method in [Method::GET, Method::HEAD] {
            cases.push(Case::new(method.clone(), format!("/{code}")));
            cases.push(Case::new(method, format!("/urls/{code}/redirect")));
        }
    }
    // Hostile headers on a real redirect: obs-text and very long referrers and agents.
    let obs_text = HeaderValue::from_bytes(b"\xff\xfe garbage \x80").unwrap();
    let long_header = HeaderValue::from_str(&"r".repeat(64 * 1024)).unwrap();
    for value in [obs_text.clone(), long_header.clone()] {
        cases.push(
            Case::new(Method::GET, format!("/{code}"))
                .with_header(header::REFERER, value.clone())
                .with_header(header::USER_AGENT, value.clone()),
        );
        cases.push(
            Case::new(Method::GET, "/users")
                .with_header(HeaderName::from_static("x-request-id"), value.clone()),
        );
    }

    // Query strings.
    let queries = [
        "/users?page=1&page=2".to_owned(),
        "/users?per_page=10&per_page=20".to_owned(),
        "/users?per_page=99999999999999999999".to_owned(),
        "/users?page=4294967295&per_page=1000".to_owned(),
        "/users?page=4294967296".to_owned(),
        "/users?page=%00".to_owned(),
        "/users?page=%FF".to_owned(),
        "/users?page=1%00".to_owned(),
        "/users?%00=%00".to_owned(),
        "/users?&&==&=".to_owned(),
        "/users?page[]=1".to_owned(),
        "/users?page=%F0%9F%98%80".to_owned(),
        "/urls?user_id=%FF".to_owned(),
        "/urls?user_id=%00".to_owned(),
        "/urls?user_id=99999999999999999999".to_owned(),
        "/urls?user_id=-9223372036854775808".to_owned(),
        "/urls?user_id=1&user_id=2".to_owned(),
        "/urls?user_id=1.5".to_owned(),
        "/urls?is_active=%00".to_owned(),
        "/urls?is_active=maybe".to_owned(),
        "/urls?is_active=true&is_active=false".to_owned(),
        "/events?event_type=%00".to_owned(),
        "/events?event_type=a%00b".to_owned(),
        "/events?event_type=%FF".to_owned(),
        "/events?event_type=%F0%9F%98%80".to_owned(),
        "/events?event_type=%C0%80".to_owned(),
        format!("/events?event_type={long_in_uri}"),
        "/events?url_id=%F0%9F%98%80".to_owned(),
        "/events?url_id=99999999999999999999".to_owned(),
        "/events?url_id=1.5".to_owned(),
        "/events?user_id=true".to_owned(),
        "/events?user_id=%00".to_owned(),
        "/events?url_id=1&url_id=2&event_type=a&event_type=b".to_owned(),
        format!("/urls/{link}/events?page=0"),
        format!("/urls/{link}/events?per_page=%00"),
        format!("/urls/{link}/events?page=1&page=2"),
        format!("/urls/{link}/stats?days=%00"),
        "/health?x=%00".to_owned(),
        "/ready?%FF".to_owned(),
        "/openapi.json?%FF=%00".to_owned(),
    ];
    for path in queries {
        cases.push(Case::new(Method::GET, path));
    }

    // Fields of every JSON body.
    let routes: [(Method, String, Value, &[&str]); 5] = [
        (
            Method::POST,
            "/users".to_owned(),
            json!({"username": "bob", "email": "bob@example.com"}),
            &["username", "email"],
        ),
        (
            Method::PUT,
            format!("/users/{user}"),
            json!({}),
            &["username", "email"],
        ),
        (
            Method::POST,
            "/urls".to_owned(),
            json!({"original_url": "https://example.com/b"}),
            &[
                "original_url",
                "url",
                "user_id",
                "title",
                "short_code",
                "expires_at",
            ],
        ),
        (
            Method::PUT,
            format!("/urls/{link}"),
            json!({}),
            &["original_url", "title", "is_active", "expires_at"],
        ),
        (
            Method::POST,
            "/events".to_owned(),
            json!({"url_id": link, "event_type": "custom"}),
            &["url_id", "user_id", "event_type", "details"],
        ),
    ];
    let values = hostile_values();
    for (method, path, base, fields) in &routes {
        for field in *fields {
            for value in &values {
                let body = with_raw_field(base, field, value);
                cases.push(Case::json(method.clone(), path.clone(), body));
            }
        }
        // Whole bodies.
        let base_text = base.to_string();
        let inner = base_text.trim_start_matches('{').trim_end_matches('}');
        let sep = if inner.is_empty() { "" } else { "," };
        let bodies: Vec<Vec<u8>> = vec![
            format!(
                "{{{inner}{sep}\"unknown\":{{\"deep\":[1,2,{{}}]}},\"id\":5,\"created_at\":\"x\"}}"
            )
            .into_bytes(),
            format!(r#"{{"username":"a","username":"b","title":"t","title":"u"{sep}{inner}}}"#)
                .into_bytes(),
            format!("{{{inner}{sep}\"{long}\":1}}").into_bytes(),
            format!("{{{inner}{sep}\"k\u{0}\":1}}").into_bytes(),
            format!("\u{feff}{base_text}").into_bytes(),
            [
                b"{\"title\":\"\xff\xfe\"".as_slice(),
                sep.as_bytes(),
                inner.as_bytes(),
                b"}",
            ]
            .concat(),
            "[".repeat(10_000).into_bytes(),
            "{\"a\":".repeat(10_000).into_bytes(),
            format!("{base_text}{base_text}").into_bytes(),
            format!("{base_text} trailing").into_bytes(),
            b"\0".to_vec(),
        ];
        for body in bodies {
            cases.push(Case::json(method.clone(), path.clone(), body));
        }
        for content_type in [
            "application/json; charset=utf-16",
            "APPLICATION/JSON",
            "application/problem+json",
            "application/json; charset=é",
            "multipart/form-data",
            "",
            ";;;",
        ] {
            cases.push(Case::typed(
                method.clone(),
                path.clone(),
                content_type,
                base_text.clone(),
            ));
        }
    }

    // The bulk upload.
    cases.push(Case::new(Method::POST, "/users/bulk"));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "text/csv",
        "username,email\na,a@x.com\n",
    ));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "multipart/form-data",
        "garbage",
    ));
    cases.push(Case::typed(
        Method::POST,
        "/users/bulk",
        "multipart/form-data; boundary=zzz",
        "--zzz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated",
    ));
    cases.push(Case::json(
        Method::POST,
        "/users/bulk",
        r#"{"file":"username,email"}"#,
    ));
    let csvs: Vec<(&str, Vec<u8>)> = vec![
        ("file", Vec::new()),
        ("file", b"username,email\n".to_vec()),
        ("other", b"username,email\nbulk,bulk@example.com\n".to_vec()),
        ("file", b"name,mail\nx,y\n".to_vec()),
        ("file", b"username,email\n\0,nul\0@example.com\n".to_vec()),
        ("file", b"username,email\nnul,nul\0@example.com\n".to_vec()),
        (
            "file",
            b"username,email\n\xff\xfe,bad@example.com\n".to_vec(),
        ),
        ("file", b"\xff\xfe\x00u\x00s\x00e\x00r".to_vec()),
        (
            "file",
            b"username,email\n\"unterminated,x@example.com\n".to_vec(),
        ),
        (
            "file",
            format!("username,email\n{long},long@example.com\n").into_bytes(),
        ),
        (
            "file",
            format!("username,email\nlong,{long}@example.com\n").into_bytes(),
        ),
        (
            "file",
            b"username,email\n\xF0\x9F\x98\x80,emoji@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n99999999999999999999,a,huge@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n-1,a,negative@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n1.5,a,float@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email\n1,a,existing@example.com\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t1@example.com,-262143-01-01 00:00:00\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t2@example.com,+262142-12-31 23:59:59\n".to_vec(),
        ),
        (
            "file",
            b"id,username,email,created_at\n,a,t3@example.com,not a time\n".to_vec(),
        ),
        ("file", b"username,email\na,b,c,d\n\n,,\n".to_vec()),
        (
            "file",
            b"username,email\na,dup@example.com\nb,DUP@example.com\n".to_vec(),
        ),
        (
            "file",
            b"username,email,username\na,x@example.com,b\n".to_vec(),
        ),
    ];
    for (field, csv) in csvs {
        let (content_type, body) = multipart(field, &csv);
        cases.push(Case::typed(
            Method::POST,
            "/users/bulk",
            &content_type,
            body,
        ));
    }

    // Methods and paths nobody routes.
    let odd_method = Method::from_bytes(b"FROB").unwrap();
    for (method, path) in [
        (Method::OPTIONS, "/users".to_owned()),
        (Method::PATCH, format!("/urls/{link}")),
        (Method::TRACE, "/".to_owned()),
        (Method::DELETE, "/events".to_owned()),
        (Method::PUT, "/health".to_owned()),
        (Method::POST, "/live".to_owned()),
        (Method::POST, format!("/{code}")),
        (odd_method, "/users".to_owned()),
        (Method::GET, "/".to_owned()),
        (Method::GET, "//".to_owned()),
        (Method::GET, "/users/".to_owned()),
        (Method::GET, format!("/users/{user}/")),
        (Method::GET, format!("/users/{user}/extra")),
        (Method::GET, format!("/urls/{link}/events/extra")),
        (Method::GET, "/%2e%2e/%2e%2e/etc/passwd".to_owned()),
        (Method::GET, format!("/users/{user}/../..")),
        (Method::GET, format!("/{long_in_uri}")),
        (Method::GET, format!("/a/{long_in_uri}/b")),
    ] {
        cases.push(Case::new(method, path));
    }
    cases
}

#[sqlx::test]
async fn no_request_however_malformed_produces_a_500(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let cases = hostile_table(&fixture);
    let mut failures = Vec::new();
    for case in &cases {
        let response = case.send(&fixture.app).await;
        if let Some(problem) = mishandled(&case.method, &response) {
            failures.push(format!("{} → {problem}", case.describe()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests were mishandled:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The service is still whole afterwards.
    fixture
        .app
        .get_user(fixture.user_id)
        .await
        .expect(StatusCode::OK);
    // The table holds valid values too (is_active false, past expiries), so the link may
    // no longer redirect; it must still answer from the database without an error.
    let redirect = fixture.app.get(&format!("/{}", fixture.short_code)).await;
    assert!(
        [StatusCode::FOUND, StatusCode::NOT_FOUND, StatusCode::GONE].contains(&redirect.status),
        "{}",
        redirect.status
    );
    fixture.app.get("/health").await.expect(StatusCode::OK);
}

#[sqlx::test]
async fn nul_characters_in_stored_text_are_400_naming_the_field(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let before = fixture.counts().await;
    let (user, link) = (
        format!("/users/{}", fixture.user_id),
        format!("/urls/{}", fixture.url_id),
    );
    let url_id = fixture.url_id;
    let nul = "a\u{0}b";
    let cases = [
        (
            Method::POST,
            "/users",
            json!({"username": nul, "email": "n@example.com"}),
            "username",
        ),
        (
            Method::POST,
            "/users",
            json!({"username": "n", "email": "n\u{0}@example.com"}),
            "email",
        ),
        (Method::PUT, &user, json!({"username": nul}), "username"),
        (
            Method::PUT,
            &user,
            json!({"email": "n\u{0}@example.com"}),
            "email",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com/\u{0}"}),
            "original_url",
        ),
        (
            Method::POST,
            "/urls",
            json!({"original_url": "https://example.com", "title": nul}),
            "title",
        ),
        (
            Method::PUT,
            &link,
            json!({"original_url": "https://example.com/\u{0}"}),
            "original_url",
        ),
        (Method::PUT, &link, json!({"title": nul}), "title"),
        (
            Method::POST,
            "/events",
            json!({"url_id": url_id, "event_type": nul}),
            "event_type",
        ),
    ];
    for (method, path, body, field) in cases {
        let response = fixture
            .app
            .raw(
                method.clone(),
                path,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"][field].is_string(),
            "{method} {path} {body} should name {field}: {error}"
        );
    }
    for details in [
        json!({"k": nul}),
        json!({"k": {"deep": [nul]}}),
        json!({"k\u{0}": 1}),
    ] {
        let body = json!({"url_id": url_id, "event_type": "custom", "details": details});
        let error = fixture
            .app
            .post_json("/events", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let named = error["details"]
            .as_object()
            .is_some_and(|d| d.keys().any(|k| k.starts_with("details")));
        assert!(named, "{body} should name details: {error}");
    }
    assert_eq!(
        fixture.counts().await,
        before,
        "nothing with a NUL was stored"
    );
    let error = fixture
        .app
        .get("/events?event_type=%00")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error["error"].is_string(), "{error}");
}

/// A JSON body of exactly `size` bytes for `POST /events`, padded in `details`.
fn event_body_of_size(url_id: i64, size: usize) -> String {
    let empty = json!({"url_id": url_id, "event_type": "big", "details": {"pad": ""}}).to_string();
    let pad = "x".repeat(size - empty.len());
    let body = json!({"url_id": url_id, "event_type": "big", "details": {"pad": pad}}).to_string();
    assert_eq!(body.len(), size);
    body
}

#[sqlx::test]
async fn json_body_over_one_mebibyte_is_413(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let app = &fixture.app;
    let over = event_body_of_size(fixture.url_id, JSON_BODY_LIMIT + 1);
    for (method, path, _) in fixture.json_routes() {
        let response = app
            .raw(
                method.clone(),
                &path,
                Some("application/json"),
                over.clone(),
            )
            .await;
        let error = response.expect_error(StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.is_object(), "{method} {path}: {error}");
    }
    // Without a Content-Length (a streamed body) the limit holds as well.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = over
        .as_bytes()
        .chunks(64 * 1024)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/events")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    app.send(request)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test]
async fn json_body_of_one_mebibyte_or_less_is_accepted(pool: PgPool) {
    let fixture = Fixture::new(pool).await;
    let app = &fixture.app;
    let exactly = event_body_of_size(fixture.url_id, JSON_BODY_LIMIT);
    let event = app
        .raw(
            Method::POST,
            "/events",
            Some("application/json"),
            exactly.clone(),
        )
        .await
        .expect(StatusCode::CREATED);
    let sent: Value = serde_json::from_str(&exactly).unwrap();
    assert_eq!(event["details"], sent["details"], "the whole body was read");
    for (method, path, _) in fixture.json_routes() {
        let response = app
            .raw(
                method.clone(),
                &path,
                Some("application/json"),
                exactly.clone(),
            )
            .await;
        assert_ne!(
            response.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}"
        );
        assert!(
            mishandled(&method, &response).is_none(),
            "{method} {path}: {response:?}"
        );
    }
}

#[sqlx::test]
async fn unknown_route_is_404_and_wrong_method_is_405_in_the_error_shape(pool: PgPool) {
    let app = TestApp::new(pool);
    for path in ["/no/such/route", "/users/1/nothing", "/urls/1/events/2"] {
        let error = app.get(path).await.expect_error(StatusCode::NOT_FOUND);
        assert_eq!(error["error"], "no such route", "{path}");
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
        (Method::POST, "/abc1234"),
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
async fn probes_answer_200_when_the_database_is_up(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/live").await.expect(StatusCode::OK);
    let health = app.get("/health").await.expect(StatusCode::OK);
    assert_eq!(
        (&health["status"], &health["database"]),
        (&json!("ok"), &json!("ok")),
        "{health}"
    );
    app.get("/ready").await.expect(StatusCode::OK);
}

#[tokio::test]
async fn unreachable_database_is_503_and_never_500() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://postgres@127.0.0.1:1/none")
        .unwrap();
    // The real app over a pool that can never connect; requests skip the click flush.
    let app = TestApp::new(pool);
    let timed = |response: TestResponse, started: Instant, what: &str| {
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(1500),
            "{what} took {elapsed:?}"
        );
        assert!(
            response.header("x-request-id").is_some(),
            "{what}: {response:?}"
        );
        response
    };

    let started = Instant::now();
    let health = timed(app.get("/health").await, started, "GET /health");
    let body = health.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "fail", "{body}");
    assert_eq!(body["database"], "fail", "{body}");

    let started = Instant::now();
    timed(app.get("/ready").await, started, "GET /ready").expect(StatusCode::SERVICE_UNAVAILABLE);

    let started = Instant::now();
    timed(app.get("/live").await, started, "GET /live").expect(StatusCode::OK);

    let new_user = json!({"username": "ada", "email": "ada@example.com"});
    let requests = [
        (Method::GET, "/users", None),
        (Method::POST, "/users", Some(new_user.to_string())),
        (Method::GET, "/somecode", None),
        (Method::GET, "/urls/1", None),
        (Method::GET, "/events?url_id=1", None),
    ];
    for (method, path, body) in requests {
        let started = Instant::now();
        let content_type = body.as_ref().map(|_| "application/json");
        let response = app
            .raw(method.clone(), path, content_type, body.unwrap_or_default())
            .await;
        let response = timed(response, started, &format!("{method} {path}"));
        response.expect_error(StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[sqlx::test]
async fn ready_is_503_while_draining(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/ready").await.expect(StatusCode::OK);
    app.state.lifecycle.start_draining();
    let ready = app
        .get("/ready")
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["status"], "fail", "{ready}");
    // Draining stops new traffic arriving, not the serving of what still comes.
    app.get("/live").await.expect(StatusCode::OK);
    app.get("/users").await.expect(StatusCode::OK);
}

#[sqlx::test(migrations = false)]
async fn ready_is_503_until_migrations_are_applied(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let ready = app
        .get("/ready")
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["status"], "fail", "{ready}");
    app.get("/live").await.expect(StatusCode::OK);
    shortener::db::migrate(&pool).await.unwrap();
    app.get("/ready").await.expect(StatusCode::OK);
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
            assert_ne!(error["error"], "no such route", "{path}");
            assert_eq!(
                app.head(&path).await.status,
                StatusCode::NOT_FOUND,
                "HEAD {path}"
            );
        }
    }
}

#[sqlx::test]
async fn importing_the_largest_possible_id_leaves_user_creation_working(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "id,username,email\n9223372036854775807,max,max@example.com\n";
    let response = app.post_file("/users/bulk", "file", csv).await;
    assert!(
        mishandled(&Method::POST, &response).is_none(),
        "{response:?}"
    );
    // Whether or not that row was taken, the next user still gets an id.
    app.create_user("next", "next@example.com").await;
}

#[sqlx::test]
async fn timestamps_beyond_four_digit_years_are_rejected_as_field_errors(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/a").await;
    let path = format!("/urls/{}", link["id"]);
    // The contract renders timestamps as `YYYY-MM-DDTHH:MM:SS`: a year it cannot write
    // must not be stored.
    for expires_at in ["+262142-12-31T23:59:59", "+10000-01-01T00:00:00"] {
        let body = json!({"original_url": "https://example.com/b", "expires_at": expires_at});
        let error = app
            .post_json("/urls", body)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"]["expires_at"].is_string(),
            "POST {expires_at}: {error}"
        );
    }
    for expires_at in [
        "+262142-12-31T23:59:59",
        "-4000-01-01T00:00:00",
        "-262143-01-01T00:00:00",
    ] {
        let response = app.put_json(&path, json!({"expires_at": expires_at})).await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        assert!(
            error["details"]["expires_at"].is_string(),
            "PUT {expires_at}: {error}"
        );
    }
    assert_eq!(
        app.get(&path).await.expect(StatusCode::OK),
        link,
        "nothing changed"
    );
}

#[sqlx::test]
async fn bulk_rows_with_unstorable_timestamps_are_reported_and_good_rows_imported(pool: PgPool) {
    let app = TestApp::new(pool);
    let csv = "username,email,created_at\n\
               good,good@example.com,2024-01-31 12:00:00\n\
               ancient,ancient@example.com,-262143-01-01 00:00:00\n\
               future,future@example.com,+262142-01-01 00:00:00\n";
    let report = app
        .post_file("/users/bulk", "file", csv)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(report["count"], 1, "{report}");
    let lines: Vec<_> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].clone())
        .collect();
    assert_eq!(lines, [json!(3), json!(4)], "{report}");
    let users = app.get("/users").await.expect(StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
}
