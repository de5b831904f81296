//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: the product's hot path.
//! The use case lives in `service::redirects`; this reads the request and writes the
//! redirect.

use super::error::{ApiError, ErrorBody};
use super::preview_page;
use axum::extract::rejection::PathRejection;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERER, USER_AGENT,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use shortener_domain::{Intent, TargetUrl, truncate_header};
use shortener_service::app::AppState;
use shortener_service::redirects::{self, Visit};

/// Follow a short link: a redirect to its destination (302 unless the link has its own
/// `redirect_status`), recording a `click` event (GET only).
#[utoipa::path(get, path = "/{short_code}", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination (the default), or to an ended link's `expired_url`", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 301, description = "Permanent redirect: the link's `redirect_status` is 301", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 307, description = "Temporary redirect keeping the method: the link's `redirect_status` is 307", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 308, description = "Permanent redirect keeping the method: the link's `redirect_status` is 308", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 200, description = "A link unfurler's request for a link with a `preview`: an HTML page of its Open Graph and Twitter card tags", content_type = "text/html"),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn follow(
    state: State<AppState>,
    peer: Peer,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    code: CodePath,
) -> Result<Response, ApiError> {
    redirect(state, peer, method, headers, query, code).await
}

/// The same redirect under the `/urls` prefix.
#[utoipa::path(get, path = "/urls/{short_code}/redirect", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination (the default), or to an ended link's `expired_url`", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 301, description = "Permanent redirect: the link's `redirect_status` is 301", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 307, description = "Temporary redirect keeping the method: the link's `redirect_status` is 307", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 308, description = "Permanent redirect keeping the method: the link's `redirect_status` is 308", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 200, description = "A link unfurler's request for a link with a `preview`: an HTML page of its Open Graph and Twitter card tags", content_type = "text/html"),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn follow_prefixed(
    state: State<AppState>,
    peer: Peer,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    code: CodePath,
) -> Result<Response, ApiError> {
    redirect(state, peer, method, headers, query, code).await
}

/// The code segment of a redirect path; one that is not even UTF-8 cannot exist: 404.
pub type CodePath = Result<Path<String>, PathRejection>;

async fn redirect(
    State(state): State<AppState>,
    peer: Peer,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
    code: CodePath,
) -> Result<Response, ApiError> {
    // A segment that is not even UTF-8 cannot be a code: the service answers it like any
    // malformed code (404, counted, no lookup).
    let code = code.map(|Path(code)| code).unwrap_or_default();
    let RawQuery(query) = query;
    let client = peer.map(|Extension(ConnectInfo(peer))| {
        let forwarded_for = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok());
        state.trusted_proxies().client(peer.ip(), forwarded_for)
    });
    let visit = Visit {
        referrer: header_text(&headers, REFERER),
        user_agent: header_text(&headers, USER_AGENT),
        accept_language: header_text(&headers, ACCEPT_LANGUAGE),
        intent: intent(&method, &headers),
        client,
        query,
    };
    let destination = redirects::follow(&state, &code, visit).await?;
    if let Some(preview) = destination.preview() {
        return Ok((
            StatusCode::OK,
            [
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (CACHE_CONTROL, HeaderValue::from_static(ASKED_EVERY_TIME)),
            ],
            preview_page::render(preview, destination.url()),
        )
            .into_response());
    }
    let location = HeaderValue::from_str(&TargetUrl::for_location(destination.url()))
        .map_err(|_| ApiError::internal("stored URL cannot be a Location header"))?;
    let status = StatusCode::from_u16(destination.status().code())
        .map_err(|_| ApiError::internal("a link's status is a redirect code"))?;
    let cache_control = if destination.may_be_kept() {
        KEPT_FOR_A_DAY
    } else {
        ASKED_EVERY_TIME
    };
    Ok((
        status,
        [
            (LOCATION, location),
            (CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        ],
    )
        .into_response())
}

/// The `Cache-Control` of a redirect that clients must ask for again each time: a
/// temporary one, or one of a link that can end (docs/api.md, "Redirect status").
const ASKED_EVERY_TIME: &str = "private, max-age=0";

/// The `Cache-Control` of a permanent redirect (301, 308) of a link that cannot end by
/// itself: browsers and shared caches may keep it a day, and those visits reach neither
/// the service nor its click counts.
const KEPT_FOR_A_DAY: &str = "public, max-age=86400";

/// The connection's peer, which the server's accept loop records on every request (an
/// in-process test's request may have none).
pub type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const SEC_PURPOSE: HeaderName = HeaderName::from_static("sec-purpose");
const PURPOSE: HeaderName = HeaderName::from_static("purpose");

/// A HEAD is a check; a GET that says it is a prefetch or a preview is a prefetch.
fn intent(method: &Method, headers: &HeaderMap) -> Intent {
    if method == Method::HEAD {
        return Intent::Check;
    }
    let ahead = [SEC_PURPOSE, PURPOSE].iter().any(|name| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                let value = value.to_ascii_lowercase();
                value.contains("prefetch") || value.contains("preview")
            })
        })
    });
    if ahead {
        Intent::Prefetch
    } else {
        Intent::Visit
    }
}

/// A request header as bounded text (never the client's address).
fn header_text(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(truncate_header)
}
