//! Hostile and malformed requests: every error is a JSON 4xx and never a 500, body limits
//! hold, unknown routes and methods answer in the error shape, every response carries a
//! request id, and the probes tell the truth with the database up, down, unmigrated or
//! while draining.

use std::time::{Duration, Instant};

use crate::helpers::bodies::{Event, ImportReport, Link, User};
use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

use shortener_http::JSON_BODY_LIMIT;

mod bodies;
mod hostile;
mod probes;
mod routing;
mod storage_limits;

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
            .create_link(json!({"original_url": "https://example.com/a", "user_id": user.id}))
            .await;
        Self {
            user_id: user.id,
            url_id: link.id,
            short_code: link.short_code,
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
