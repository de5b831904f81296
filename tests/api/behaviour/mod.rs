//! Links that behave (issue 24): a visit cap exact across replicas, with and without
//! Redis, that only people use up; a fallback for an ended link; per-link redirect codes
//! with their caching; the visitor's query forwarded; each field set, shown, changed and
//! refused through the API.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::bodies::Link;
use crate::helpers::{TestApp, TestResponse};
use crate::redirect::{assert_redirects_to, send_with};

mod bulk;
mod caps;
mod fields;
mod passwords;
mod previews;
mod qr;
mod redirects;
mod splits;
mod tag_locks;
mod tags;
mod targeting;

/// A person's browser, as the click writer classes it.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A person's GET of `/{code}` (with `query` when not empty).
async fn visit(app: &TestApp, code: &str, query: &str) -> TestResponse {
    let path = if query.is_empty() {
        format!("/{code}")
    } else {
        format!("/{code}?{query}")
    };
    send_with(app, Method::GET, &path, &[("user-agent", BROWSER)]).await
}
