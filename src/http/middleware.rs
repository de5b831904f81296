//! Request ids, RED metrics and one access-log line per request, and panic containment.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::ApiError;
use crate::metrics::{DbErrorKind, Metrics};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the access-log layer needs: the metrics and this replica's name.
#[derive(Clone)]
pub struct RequestTelemetry {
    pub metrics: Metrics,
    pub replica: Arc<str>,
}

/// Wraps every route (and the fallback) in the middleware, outermost first.
pub fn apply(router: Router, telemetry: RequestTelemetry) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(())
                    .on_response(())
                    .on_failure(()),
            )
            // In an Arc: the state is cloned per request, and Metrics holds dozens of
            // handles whose reference counts every core would otherwise contend on.
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(telemetry),
                access_log,
            ))
            .layer(CatchPanicLayer::custom(
                |_panic: Box<dyn std::any::Any + Send>| {
                    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                },
            )),
    )
}

/// The span every log line of a request carries (errors logged by handlers included).
fn request_span(request: &axum::http::Request<Body>) -> Span {
    tracing::info_span!(
        "request",
        request_id = request_id(request),
        method = %request.method(),
        route = route(request)
    )
}

fn route<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
}

fn request_id<B>(request: &axum::http::Request<B>) -> &str {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// Counts and times the request, and writes its one access-log line.
async fn access_log(
    State(telemetry): State<Arc<RequestTelemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // Cheap clones (shared strings), not copies: this runs on every redirect.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let request_id = request.headers().get(REQUEST_ID).cloned();
    let http = &telemetry.metrics.http;
    http.in_flight.inc();
    let response = next.run(request).await;
    http.in_flight.dec();
    let latency = started.elapsed();
    let status = response.status();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = request_id
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    http.observe(route, &method, status, latency);
    if let Some(kind) = response.extensions().get::<DbErrorKind>() {
        telemetry.metrics.db.count_error(*kind);
    }
    tracing::info!(
        request_id,
        method = %method,
        route,
        status = status.as_u16(),
        latency_ms = latency.as_micros() as f64 / 1000.0,
        replica = &*telemetry.replica,
        "request"
    );
    response
}
