//! The per-key create quota at the edge: a `POST` made with an API key takes one unit
//! of that key's quota, and its answer says what is left in the IETF draft's
//! `RateLimit` and `RateLimit-Policy` fields; over quota it is 429 with `Retry-After`.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use shortener_domain::ApiKey;
use shortener_service::quota::{CreateQuota, Decision};

const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// The policy's name in the fields.
const POLICY: &str = "creates";

/// What the quota let through, to describe on the answer.
pub enum Admitted<'a> {
    /// Not counted: no quota, or not a create.
    Uncounted,
    Counted {
        quota: &'a CreateQuota,
        remaining: u32,
        full_in: Duration,
    },
}

/// A create past its key's quota: answered 429 with `Retry-After`.
pub struct Refused<'a> {
    quota: &'a CreateQuota,
    retry_after: Duration,
}

impl IntoResponse for Refused<'_> {
    fn into_response(self) -> Response {
        let mut response = ApiError::TooManyRequests {
            what: "creates for this API key",
            retry_after_secs: whole_seconds(self.retry_after),
        }
        .into_response();
        describe(response.headers_mut(), self.quota, 0, self.retry_after);
        response
    }
}

/// Counts a `POST` by `key` against its quota.
pub fn admit<'a>(
    quota: Option<&'a CreateQuota>,
    method: &Method,
    key: &ApiKey,
) -> Result<Admitted<'a>, Refused<'a>> {
    let Some(quota) = quota.filter(|_| method == Method::POST) else {
        return Ok(Admitted::Uncounted);
    };
    match quota.check(key.name()) {
        Decision::Allowed { remaining, full_in } => Ok(Admitted::Counted {
            quota,
            remaining,
            full_in,
        }),
        Decision::Refused { retry_after } => Err(Refused { quota, retry_after }),
    }
}

impl Admitted<'_> {
    /// Adds the `RateLimit` fields of a counted create.
    pub fn describe(&self, headers: &mut HeaderMap) {
        if let Self::Counted {
            quota,
            remaining,
            full_in,
        } = self
        {
            describe(headers, quota, *remaining, *full_in);
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
