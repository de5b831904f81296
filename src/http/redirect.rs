//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: the product's hot path.
//! Answers from the cache tiers and queues the click; never waits on a database write.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERER, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::cache::CacheEntry;
use crate::clicks::{self, Click};
use crate::domain::{ShortCode, TargetUrl};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Follow a short link: 302 to its destination, recording a `click` event (GET only).
#[utoipa::path(get, path = "/{short_code}", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination", headers(("Location" = String))),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn follow(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    code: CodePath,
) -> Result<Response, ApiError> {
    redirect(state, method, headers, code).await
}

/// The same redirect under the `/urls` prefix.
#[utoipa::path(get, path = "/urls/{short_code}/redirect", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination", headers(("Location" = String))),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn follow_prefixed(
    state: State<AppState>,
    method: Method,
    headers: HeaderMap,
    code: CodePath,
) -> Result<Response, ApiError> {
    redirect(state, method, headers, code).await
}

const NOT_FOUND: &str = "short link not found";

/// The code segment of a redirect path; one that is not even UTF-8 cannot exist: 404.
pub type CodePath = Result<Path<String>, PathRejection>;

async fn redirect(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    code: CodePath,
) -> Result<Response, ApiError> {
    let counters = &state.metrics.hot;
    // A code that could never have been issued needs no lookup at all.
    let Ok(Path(code)) = code else {
        counters.not_found.inc();
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    if !ShortCode::is_well_formed(&code) {
        counters.not_found.inc();
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    }
    let entry = state.cache.resolve(&state.pool, &code).await?;
    let link = match entry.as_ref() {
        CacheEntry::Link(link) if link.is_active => link,
        _ => {
            counters.not_found.inc();
            return Err(ApiError::NotFound(NOT_FOUND.into()));
        }
    };
    let now = Utc::now();
    if link.expires_at.is_some_and(|at| at <= now) {
        counters.gone.inc();
        return Err(ApiError::Gone("short link has expired".into()));
    }
    // HEAD is a check (link previews, monitors), not a visit: it records nothing.
    if method == Method::GET {
        state.clicks.enqueue(Click {
            url_id: link.url_id,
            at: now,
            referrer: header_text(&headers, REFERER),
            user_agent: header_text(&headers, USER_AGENT),
        });
    }
    counters.found.inc();
    let location =
        HeaderValue::from_str(&TargetUrl::for_location(&link.original_url)).map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("stored URL cannot be a Location header"))
        })?;
    Ok((
        StatusCode::FOUND,
        [
            (LOCATION, location),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=0"),
            ),
        ],
    )
        .into_response())
}

/// A request header as bounded text (never the client's address).
fn header_text(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(clicks::truncate)
}
