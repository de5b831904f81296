//! API-key access: which scope each route needs, and the check of the request's
//! `Authorization: Bearer <key>` against the configured keys.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::rate_limit;
use shortener_domain::{Caller, Scope};
use shortener_service::app::AppState;

/// The scope a guarded route needs: the keys' own routes `admin`, other reads `read`,
/// user management and imports `admin`, and every other write `write`. Which routes are
/// guarded is the router's choice (`http::api_router`): all but the redirects and probes.
pub fn required_scope(method: &Method, route: &str) -> Scope {
    let under = |prefix: &str| route == prefix || route.starts_with(&format!("{prefix}/"));
    if under("/api-keys") || under("/reports") || route.ends_with("/lock") {
        Scope::Admin
    } else if matches!(*method, Method::GET | Method::HEAD) {
        Scope::Read
    } else if under("/users") {
        Scope::Admin
    } else {
        Scope::Write
    }
}

/// Lets a request through when its key grants the scope its route needs: 401 without a
/// known key, 403 with one whose scope is too low, 429 past the key's create quota
/// ([`super::rate_limit`]). Open when no key is configured. Only the guarded routes pass
/// here; the redirects and probes never pay for it. A request let through carries its
/// [`Caller`] (anonymous when open) for the handlers' [`super::extract::ApiCaller`].
/// Every answer of a guarded route says `Cache-Control: no-store`: it is one key's view,
/// which no shared cache between the client and the API may keep. A handler may allow the
/// client alone to keep its answer (`private`, as the QR image does); nothing else.
pub async fn guard(state: State<AppState>, request: Request, next: Next) -> Response {
    let mut response = check_key(state, request, next).await;
    let private = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("private"));
    if !private {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

async fn check_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if state.api_keys().is_open() {
        request.extensions_mut().insert(Caller::anonymous());
        return next.run(request).await;
    }
    let Some(route) = request.extensions().get::<MatchedPath>() else {
        // No route matched: the answer is a 404 or 405 that reveals nothing.
        return next.run(request).await;
    };
    let needed = required_scope(request.method(), route.as_str());
    let key = bearer_token(request.headers()).and_then(|token| state.authenticate(token));
    let Some(key) = key else {
        return ApiError::Unauthorized.into_response();
    };
    if !key.grants(needed) {
        return ApiError::Forbidden(needed).into_response();
    }
    let quota = match rate_limit::admit(state.create_quota(), request.method(), &key) {
        Ok(quota) => quota,
        Err(refused) => return refused.into_response(),
    };
    let caller = key.caller();
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    quota.describe(response.headers_mut());
    // For the access log's `key` field (a shared name, not a copy).
    response.extensions_mut().insert(caller);
    response
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_the_scope_of_what_they_do() {
        let cases = [
            (Method::GET, "/urls", Scope::Read),
            (Method::HEAD, "/urls/{id}", Scope::Read),
            (Method::GET, "/users/{id}", Scope::Read),
            (Method::POST, "/urls", Scope::Write),
            (Method::DELETE, "/urls/{id}", Scope::Write),
            (Method::POST, "/events", Scope::Write),
            (Method::POST, "/users", Scope::Admin),
            (Method::PUT, "/users/{id}", Scope::Admin),
            (Method::POST, "/users/bulk", Scope::Admin),
            (Method::PATCH, "/urls/{id}", Scope::Write),
            (Method::GET, "/api-keys", Scope::Admin),
            (Method::POST, "/api-keys", Scope::Admin),
            (Method::DELETE, "/api-keys/{id}", Scope::Admin),
            (Method::GET, "/reports", Scope::Admin),
            (Method::PUT, "/urls/{id}/lock", Scope::Admin),
            (Method::DELETE, "/urls/{id}/lock", Scope::Admin),
        ];
        for (method, route, needed) in cases {
            assert_eq!(required_scope(&method, route), needed, "{method} {route}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            bearer_token(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(with("Bearerabc"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
