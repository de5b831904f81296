//! The per-key create quota at the edge: a `POST` made with an API key takes one unit
//! of that key's quota, and every such answer says what is left in the IETF draft's
//! `RateLimit` and `RateLimit-Policy` fields; over quota it is 429 with `Retry-After`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::KeyName;
use super::error::ApiError;
use crate::app::AppState;
use crate::limits::{CreateQuota, Decision};

const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// The policy's name in the fields.
const POLICY: &str = "creates";

/// Counts a keyed `POST` against its key's quota (after [`super::auth::require_key`],
/// which names the key). Requests without a key, and other methods, pass untouched.
pub async fn limit_creates(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(quota) = &state.create_quota else {
        return next.run(request).await;
    };
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(KeyName(key)) = request.extensions().get::<KeyName>() else {
        return next.run(request).await;
    };
    match quota.check(key) {
        Decision::Refused { retry_after } => {
            let mut response = ApiError::TooManyRequests {
                retry_after_secs: whole_seconds(retry_after),
            }
            .into_response();
            describe(response.headers_mut(), quota, 0, retry_after);
            response
        }
        Decision::Allowed { remaining, full_in } => {
            let mut response = next.run(request).await;
            describe(response.headers_mut(), quota, remaining, full_in);
            response
        }
    }
}

/// `RateLimit-Policy: "creates";q=<burst>;w=<refill seconds>` and
/// `RateLimit: "creates";r=<remaining>;t=<seconds until it is full again>`.
fn describe(headers: &mut HeaderMap, quota: &CreateQuota, remaining: u32, reset: Duration) {
    let policy = format!(
        "\"{POLICY}\";q={};w={}",
        quota.settings().burst,
        whole_seconds(quota.window())
    );
    let state = format!("\"{POLICY}\";r={remaining};t={}", whole_seconds(reset));
    for (name, value) in [(RATE_LIMIT_POLICY, policy), (RATE_LIMIT, state)] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    }
}

/// Rounded up: a client told 0 would retry at once and be refused again.
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        seconds + 1
    } else {
        seconds
    }
}
