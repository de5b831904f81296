//! The HTTP surface: routes, extractors, middleware, the request and response types, and
//! the OpenAPI document generated from them. Handlers parse into domain types, call the
//! service layer and map its answer to a response; nothing here touches SQL or a cache.

mod analytics;
mod api_keys;
mod auth;
mod bulk;
mod bulk_links;
mod click_export;
pub mod error;
mod events;
pub mod extract;
mod health;
mod list;
mod middleware;
mod openapi;
mod password_page;
mod preview_page;
mod qr;
mod qr_image;
mod rate_limit;
mod redirect;
mod reports;
mod request_id;
mod schema;
mod tags;
mod urls;
mod users;
pub mod views;
mod webhook_views;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
use shortener_service::app::AppState;
use shortener_service::probes;

/// The target of the access line, one per request (the binary writes these lines by
/// hand, and every other event through tracing's formatter).
pub const ACCESS_LOG_TARGET: &str = "shortener_http::access";

/// Largest JSON body accepted.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// Largest CSV upload accepted.
pub const UPLOAD_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The whole application: every route, its middleware, `/openapi.json` and `/metrics`.
pub fn router(state: AppState) -> Router {
    with_fallbacks_and_middleware(
        public_routes(&state).route("/metrics", axum::routing::get(metrics)),
        state,
    )
}

/// The application without `/metrics`, for when the metrics have their own listener.
pub fn router_without_metrics(state: AppState) -> Router {
    with_fallbacks_and_middleware(public_routes(&state), state)
}

/// `/metrics` alone, for its own listener (`METRICS_LISTEN_ADDR`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
}

fn public_routes(state: &AppState) -> Router<AppState> {
    let (router, mut api) = api_router(state).split_for_parts();
    openapi::document_body_limits(&mut api);
    router.merge(openapi::routes(api))
}

fn with_fallbacks_and_middleware(router: Router<AppState>, state: AppState) -> Router {
    let router = router
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state.clone());
    middleware::apply(router, state)
}

/// `GET /metrics`: Prometheus text format (kept off the public entry point by Nginx).
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        probes::metrics_text(&state),
    )
}

/// The documented routes: the public ones (redirects and probes), which no key check
/// touches, and the rest behind [`auth::guard`]. Every route but the CSV import is bounded
/// by `REQUEST_TIMEOUT_MS` ([`middleware::within_deadline`]).
fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    let guard = || axum::middleware::from_fn_with_state(state.clone(), auth::guard);
    let public = OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(redirect::follow_prefixed))
        .routes(routes!(redirect::follow, redirect::open_protected))
        .merge(report_router());
    let mut guarded = guarded_router();
    openapi::require_key(guarded.get_openapi_mut());
    let mut import = import_router();
    openapi::require_key(import.get_openapi_mut());
    public
        .merge(guarded.layer(guard()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::within_deadline,
        ))
        .merge(import.layer(guard()))
}

/// Every route that needs an API key when keys are configured, but the import.
fn guarded_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::create, users::list))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(urls::create, urls::list))
        .routes(routes!(urls::get, urls::update, urls::delete))
        .routes(routes!(urls::link_events))
        .routes(routes!(qr::qr))
        .routes(routes!(tags::list))
        .routes(routes!(analytics::link_stats))
        .routes(routes!(analytics::link_breakdown))
        .routes(routes!(analytics::scope_stats))
        .routes(routes!(analytics::scope_breakdown))
        .routes(routes!(analytics::scope_link_breakdown))
        .routes(routes!(click_export::export))
        .routes(routes!(events::create, events::list))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(reports::lock, reports::unlock))
        .routes(routes!(reports::list))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::retry))
        .merge(json_body_limit(
            OpenApiRouter::new().routes(routes!(bulk_links::create)),
            bulk_links::BULK_BODY_LIMIT,
        ))
}

/// `POST /urls/{short_code}/report`: public, with a small body limit of its own.
fn report_router() -> OpenApiRouter<AppState> {
    json_body_limit(
        OpenApiRouter::new().routes(routes!(reports::report)),
        reports::REPORT_BODY_LIMIT,
    )
}

/// A JSON body limit of their own for `routes`: axum's, and the same number for the 413's
/// message ([`extract::JsonBodyLimit`]).
fn json_body_limit(routes: OpenApiRouter<AppState>, limit: usize) -> OpenApiRouter<AppState> {
    routes
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(extract::JsonBodyLimit(limit)))
}

/// The CSV import: its own body limit, and no request timeout.
fn import_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(bulk::import_users))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
}
