//! The floor of the stack for the redirect: the replica's runtime, HTTP/1 server and router
//! answering every `GET /{code}` with one constant 302 and the replica's response headers,
//! and nothing else (no lookup, no click, no access line, no metrics, no middleware).
//! `scripts/bench-floor` measures it beside Nginx's static 302 and the replica, so the gap
//! between the replica and the machine's ceiling splits into what the stack costs and what
//! the service adds.
//!
//!   cargo build --release --example bare_redirect
//!   LISTEN_ADDR=127.0.0.1:8099 target/release/examples/bare_redirect

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// What the replica sets on a cached redirect, byte for byte but the request id's value.
const HEADERS: [(HeaderName, &str); 7] = [
    (LOCATION, "https://example.com/bench"),
    (CACHE_CONTROL, "private, max-age=0"),
    (
        HeaderName::from_static("x-request-id"),
        "0123456789abcdef0123456789abcdef",
    ),
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (REFERRER_POLICY, "no-referrer"),
];

async fn redirect() -> impl IntoResponse {
    (
        StatusCode::FOUND,
        HEADERS.map(|(name, value)| (name, value)),
    )
}

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::var("LISTEN_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8099".into())
        .parse()
        .unwrap_or_else(|error| {
            eprintln!("LISTEN_ADDR is not an address: {error}");
            std::process::exit(2);
        });
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|error| {
        eprintln!("cannot listen on {addr}: {error}");
        std::process::exit(1);
    });
    let router = Router::new().route("/{code}", get(redirect));
    // As the replica serves a connection (crates/server/src/connections.rs).
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(75))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
