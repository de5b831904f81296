//! Garbage in every part of every route of the contract: no answer is a 500 or a 4xx outside
//! the JSON error shape.

use super::*;

mod table;

use table::hostile_table;

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
