//! `/urls`: creation rules, reads, filtered lists, partial updates, soft deletion,
//! and each link's events and click statistics.

use crate::helpers::TestApp;
use crate::helpers::bodies::{Event, Link, LinkStats, ReferrerClicks, User, ids};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;

mod create;
mod delete;
mod history;
mod read;
mod update;

const URL_FIELDS: [&str; 20] = [
    "id",
    "user_id",
    "short_code",
    "original_url",
    "title",
    "is_active",
    "expires_at",
    "created_at",
    "updated_at",
    "max_visits",
    "visits_left",
    "expired_url",
    "redirect_status",
    "forward_query",
    "tags",
    "preview",
    "protected",
    "rules",
    "variants",
    "destination",
];

/// Asserts `text` is a timestamp in the API format, `YYYY-MM-DDTHH:MM:SS`.
#[track_caller]
fn assert_api_timestamp(text: &str) {
    assert!(
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
            && text.len() == 19,
        "not YYYY-MM-DDTHH:MM:SS: {text}"
    );
}

/// The sorted keys of a JSON object.
fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    fields.sort();
    fields
}

/// Follows a short link with an optional `Referer`, expecting the redirect.
async fn click(app: &TestApp, code: &str, referrer: Option<&str>) {
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(format!("/{code}"));
    if let Some(referrer) = referrer {
        request = request.header(header::REFERER, referrer);
    }
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status, StatusCode::FOUND, "click on {code}");
}
