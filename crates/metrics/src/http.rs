//! RED metrics of the HTTP API: requests by route template, method and status class,
//! latency with buckets at the SLO thresholds, and requests in flight.

use std::time::Duration;

use http::{Method, StatusCode};
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge};

use super::registrar::Registrar;

/// Latency buckets in seconds; 0.1 s is the redirect latency SLO's threshold.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The redirect routes, registered at start so their error series exist at 0.
const REDIRECT_ROUTES: &[&str] = &["/{short_code}", "/urls/{short_code}/redirect"];

/// Requests, their latency and concurrency.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    /// Requests being handled now.
    pub in_flight: IntGauge,
    /// `GET` on each redirect route, resolved once: the hot path skips the label lookups.
    redirects: Vec<ResolvedRoute>,
}

/// The series of one route and method, by status class (`1xx` to `5xx`).
#[derive(Clone)]
struct ResolvedRoute {
    route: &'static str,
    by_class: [IntCounter; 5],
    duration: Histogram,
}

impl HttpMetrics {
    pub(super) fn new(r: &Registrar<'_>) -> Self {
        let requests = r.counter_vec(
            "shortener_http_requests_total",
            "HTTP requests answered, by route template, method and status class",
            &["route", "method", "status_class"],
        );
        let duration = r.histogram_vec(
            "shortener_http_request_duration_seconds",
            "Time from the request entering the router to the response head",
            &["route", "method"],
            LATENCY_BUCKETS.to_vec(),
        );
        let redirects = REDIRECT_ROUTES
            .iter()
            .map(|&route| ResolvedRoute {
                route,
                by_class: STATUS_CLASSES
                    .map(|class| requests.with_label_values(&[route, "GET", class])),
                duration: duration.with_label_values(&[route, "GET"]),
            })
            .collect();
        Self {
            requests,
            duration,
            redirects,
            in_flight: r.gauge(
                "shortener_http_requests_in_flight",
                "HTTP requests being handled",
            ),
        }
    }

    /// Records one answered request.
    pub fn observe(&self, route: &str, method: &Method, status: StatusCode, latency: Duration) {
        if *method == Method::GET
            && let Some(resolved) = self.redirects.iter().find(|r| r.route == route)
        {
            resolved.by_class[class_index(status)].inc();
            resolved.duration.observe(latency.as_secs_f64());
            return;
        }
        let method = method_label(method);
        self.requests
            .with_label_values(&[route, method, status_class(status)])
            .inc();
        self.duration
            .with_label_values(&[route, method])
            .observe(latency.as_secs_f64());
    }
}

/// The method as a label; anything outside the standard set is `other`, so a client
/// cannot create series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

fn class_index(status: StatusCode) -> usize {
    match status.as_u16() {
        100..=199 => 0,
        200..=299 => 1,
        300..=399 => 2,
        400..=499 => 3,
        _ => 4,
    }
}

fn status_class(status: StatusCode) -> &'static str {
    STATUS_CLASSES[class_index(status)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_cover_every_code() {
        assert_eq!(status_class(StatusCode::FOUND), "3xx");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::CONTINUE), "1xx");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }
}
