//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: the product's hot path.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, REFERER, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::clicks::{self, Click};
use crate::db::urls;
use crate::domain::{ShortCode, TargetUrl};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Follow a short link: 302 to its destination, recording a `click` event (GET only).
#[utoipa::path(get, path = "/{short_code}", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination", headers(("Location" = String))),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
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
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
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
    let Ok(Path(code)) = code else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    // A code that could never have been issued needs no database round trip.
    if !ShortCode::is_well_formed(&code) {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    }
    let target = urls::find_target(&state.pool, &code)
        .await?
        .filter(|target| target.is_active)
        .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into()))?;
    if target.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::Gone("short link has expired".into()));
    }
    // HEAD is a check (link previews, monitors), not a visit: it records nothing.
    if method == Method::GET {
        clicks::record(&state.pool, Click::from_request(target.id, &headers)).await;
    }
    let location =
        HeaderValue::from_str(&TargetUrl::for_location(&target.original_url)).map_err(|_| {
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

impl Click {
    /// The click of a request: who referred it and with what agent (never the client's IP).
    fn from_request(url_id: i64, headers: &HeaderMap) -> Self {
        let header = |name| {
            headers
                .get(name)
                .and_then(|value: &axum::http::HeaderValue| value.to_str().ok())
                .map(clicks::truncate)
        };
        Click {
            url_id,
            referrer: header(REFERER),
            user_agent: header(USER_AGENT),
        }
    }
}
