//! Request ids, RED metrics and one access-log line per request, panic containment and
//! the security headers of every response.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::IntGauge;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use super::error::{ApiError, FailureReport};
use super::request_id::ProcessRequestIds;
use shortener_domain::Caller;
use shortener_service::DbFailure;
use shortener_service::app::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sent on every response (unless a handler set its own): the API serves JSON and
/// redirects only, so nothing may be sniffed, framed, run as a page, or leak a referrer.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Wraps every route (and the fallback) in the middleware, outermost first.
pub fn apply(router: Router, state: AppState) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, ProcessRequestIds))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(axum::middleware::from_fn_with_state(state, access_log))
            .layer(CatchPanicLayer::custom(
                |_panic: Box<dyn std::any::Any + Send>| {
                    ApiError::internal("handler panicked").into_response()
                },
            )),
    )
}

/// Answers 503 once a request has run for `REQUEST_TIMEOUT_MS` (its handler is dropped),
/// so a request stuck on a store that stopped answering without closing the connection
/// (a partition) ends here, with the JSON error, rather than at the proxy's timeout.
/// A layer on the routes that take it (see [`super::api_router`]): the CSV import, which
/// legitimately runs for minutes (Nginx gives it 300 s), bounds itself per batch instead.
pub(super) async fn within_deadline(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = app.request_timeout();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_elapsed) => ApiError::Busy(format!(
            "the request did not finish within {} ms; try again",
            limit.as_millis()
        ))
        .into_response(),
    }
}

/// Counts and times the request, adds the security headers (here, outside the panic
/// containment, so a contained panic's answer has them too; and in the one middleware
/// every request passes anyway, rather than a layer each), and writes its one access-log
/// line, and the failure line of a request that failed, both with its request id and
/// route. No span per request: only these two lines carry the request id; other lines
/// logged while a request runs (the cache's, the breaker's) do not.
async fn access_log(State(telemetry): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Cheap clones (shared strings), not copies: this runs on every redirect.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let request_id = request_id
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let http = &telemetry.metrics().http;
    let response = {
        // Decremented on drop too: hyper drops the future when the client goes away.
        let _in_flight = InFlight::enter(&http.in_flight);
        next.run(request).await
    };
    let mut response = response;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    let latency = started.elapsed();
    let status = response.status();
    http.observe(route, &method, status, latency);
    let key = response
        .extensions()
        .get::<Caller>()
        .and_then(Caller::actor);
    if let Some(failure) = response.extensions().get::<DbFailure>() {
        telemetry.metrics().db.count_error(failure.label());
    }
    if let Some(report) = response.extensions().get::<FailureReport>() {
        let cause = report.cause.as_str();
        if report.severe {
            tracing::error!(request_id, route, error = cause, "{}", report.message);
        } else {
            tracing::warn!(request_id, route, error = cause, "{}", report.message);
        }
    }
    tracing::info!(
        target: super::ACCESS_LOG_TARGET,
        request_id,
        method = %method,
        route,
        status = status.as_u16(),
        latency_ms = latency.as_micros() as f64 / 1000.0,
        replica = telemetry.replica(),
        key,
        "request"
    );
    response
}

/// One request in flight, counted for as long as it lives.
struct InFlight<'a>(&'a IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
