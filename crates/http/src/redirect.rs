//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: the product's hot path.
//! The use case lives in `service::redirects`; this reads the request and writes the 302.

use super::error::{ApiError, ErrorBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERER, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use shortener_domain::{TargetUrl, truncate_header};
use shortener_service::app::AppState;
use shortener_service::redirects::{self, Visit};

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

/// The code segment of a redirect path; one that is not even UTF-8 cannot exist: 404.
pub type CodePath = Result<Path<String>, PathRejection>;

async fn redirect(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    code: CodePath,
) -> Result<Response, ApiError> {
    // A segment that is not even UTF-8 cannot be a code: the service answers it like any
    // malformed code (404, counted, no lookup).
    let code = code.map(|Path(code)| code).unwrap_or_default();
    // HEAD is a check (link previews, monitors), not a visit: it records nothing.
    let visit = (method == Method::GET).then(|| Visit {
        referrer: header_text(&headers, REFERER),
        user_agent: header_text(&headers, USER_AGENT),
    });
    let destination = redirects::follow(&state, &code, visit).await?;
    let location = HeaderValue::from_str(&TargetUrl::for_location(destination.url()))
        .map_err(|_| ApiError::internal("stored URL cannot be a Location header"))?;
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
        .map(truncate_header)
}
