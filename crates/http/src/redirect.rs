//! `GET /{short_code}` and `GET /urls/{short_code}/redirect`: the product's hot path.
//! The use case lives in `service::redirects`; this reads the request and writes the
//! redirect.

use super::error::{ApiError, ErrorBody};
use super::schema::PasswordText;
use super::urls::SecretText;
use super::{password_page, preview_page};
use axum::extract::rejection::PathRejection;
use std::net::SocketAddr;

use axum::Extension;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::header::{
    ACCEPT, ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION, REFERER, USER_AGENT,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shortener_domain::{Intent, LinkPassword, TargetUrl, truncate_header};
use shortener_service::ServiceError;
use shortener_service::app::AppState;
use shortener_service::redirects::{self, Destination, Visit};
use utoipa::ToSchema;

/// Follow a short link: a redirect to its destination (302 unless the link has its own
/// `redirect_status`), recording a `click` event (GET only).
#[utoipa::path(get, path = "/{short_code}", tag = "redirect", params(("short_code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination (the default), or to an ended link's `expired_url`", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 301, description = "Permanent redirect: the link's `redirect_status` is 301", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 307, description = "Temporary redirect keeping the method: the link's `redirect_status` is 307", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 308, description = "Permanent redirect keeping the method: the link's `redirect_status` is 308", headers(("Location" = String), ("Cache-Control" = String))),
              (status = 200, description = "A link unfurler's request for a link with a `preview`: an HTML page of its Open Graph and Twitter card tags", content_type = "text/html"),
              (status = 401, description = "A password-protected link without its password (`X-Link-Password`); a browser (`Accept: text/html`) gets the link's password form", body = ErrorBody),
              (status = 403, description = "A wrong password", body = ErrorBody),
              (status = 429, description = "Too many wrong passwords for this link from this client", body = ErrorBody),
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
              (status = 401, description = "A password-protected link without its password (`X-Link-Password`); a browser (`Accept: text/html`) gets the link's password form", body = ErrorBody),
              (status = 403, description = "A wrong password", body = ErrorBody),
              (status = 429, description = "Too many wrong passwords for this link from this client", body = ErrorBody),
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
    RawQuery(query): RawQuery,
    code: CodePath,
) -> Result<Response, ApiError> {
    // A segment that is not even UTF-8 cannot be a code: the service answers it like any
    // malformed code (404, counted, no lookup).
    let code = code.map(|Path(code)| code).unwrap_or_default();
    let sent = headers.get(X_LINK_PASSWORD).map(|value| {
        value
            .to_str()
            .ok()
            .and_then(|text| LinkPassword::parse(text).ok())
    });
    let password = match sent {
        // A header no password could be is a wrong one, answered without a lookup.
        Some(None) => return Err(wrong_password()),
        Some(Some(password)) => Some(password),
        None => None,
    };
    let intent = intent(&method, &headers);
    let visit = visit_of(&state, peer, &headers, intent, query, password);
    match redirects::follow(&state, &code, visit).await {
        Ok(destination) => answer(&destination),
        Err(error @ (ServiceError::PasswordNeeded { .. } | ServiceError::RateLimited { .. }))
            if wants_html(&headers) =>
        {
            Ok(password_page::answer(&code, ApiError::from(error)))
        }
        Err(error) => Err(error.into()),
    }
}

/// Open a password-protected link: the form of its page posts here. The right password
/// answers `303 See Other` to the destination (a visit, counted as one); a wrong or
/// missing one the page again, with why.
#[utoipa::path(post, path = "/{short_code}", tag = "redirect", params(("short_code" = String, Path)),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "The right password: to the destination", headers(("Location" = String))),
              (status = 200, description = "A link unfurler's request for a link with a `preview`", content_type = "text/html"),
              (status = 400, body = ErrorBody), (status = 401, description = "No password: the password form again", content_type = "text/html"),
              (status = 403, description = "A wrong password: the password form again", content_type = "text/html"),
              (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
              (status = 429, description = "Too many wrong passwords from this client: the form again, with Retry-After", content_type = "text/html"),
              (status = 503, body = ErrorBody)))]
pub async fn open_protected(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    code: CodePath,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let code = code.map(|Path(code)| code).unwrap_or_default();
    let Ok(Form(form)) = form else {
        return Err(ApiError::bad_request(
            "the body must be a form (application/x-www-form-urlencoded) with a password",
        ));
    };
    let Ok(password) = form.password.parse() else {
        return Ok(password_page::answer(&code, wrong_password()));
    };
    let visit = visit_of(&state, peer, &headers, Intent::Visit, None, Some(password));
    match redirects::follow(&state, &code, visit).await {
        Ok(destination) if destination.preview().is_none() => {
            let location = location_of(&destination)?;
            Ok((
                StatusCode::SEE_OTHER,
                [
                    (LOCATION, location),
                    (CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response())
        }
        Ok(destination) => answer(&destination),
        Err(error @ (ServiceError::PasswordNeeded { .. } | ServiceError::RateLimited { .. })) => {
            Ok(password_page::answer(&code, ApiError::from(error)))
        }
        Err(error) => Err(error.into()),
    }
}

/// The body of the password form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordForm {
    #[schema(value_type = PasswordText)]
    password: SecretText,
}

/// What the request says about its visitor.
fn visit_of(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    intent: Intent,
    query: Option<String>,
    password: Option<LinkPassword>,
) -> Visit {
    let client = peer.map(|Extension(ConnectInfo(peer))| {
        let forwarded_for = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok());
        state.trusted_proxies().client(peer.ip(), forwarded_for)
    });
    Visit {
        referrer: header_text(headers, REFERER),
        user_agent: header_text(headers, USER_AGENT),
        accept_language: header_text(headers, ACCEPT_LANGUAGE),
        intent,
        client,
        query,
        password,
    }
}

/// The answer to a visit let through: the preview page, or the redirect.
fn answer(destination: &Destination) -> Result<Response, ApiError> {
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
            (LOCATION, location_of(destination)?),
            (CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        ],
    )
        .into_response())
}

fn location_of(destination: &Destination) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&TargetUrl::for_location(destination.url()))
        .map_err(|_| ApiError::internal("stored URL cannot be a Location header"))
}

fn wrong_password() -> ApiError {
    ApiError::from(ServiceError::PasswordNeeded { wrong: true })
}

/// Whether the client is a browser, which is shown the password form rather than JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}

const X_LINK_PASSWORD: HeaderName = HeaderName::from_static("x-link-password");

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
