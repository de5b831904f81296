//! What operators see: `/metrics` counts requests by route template and status class,
//! database errors by kind, the runtime and the build; each request writes one JSON
//! access-log line carrying its request id and the replica's name.

use std::str::FromStr;
use std::time::Duration;

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use shortener_server::replica::AppSettings;
use shortener_store::{self as db, PoolSettings};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// The value of one sample of the exposition, e.g. `name{a="b",c="d"}`; labels in the
/// order the encoder writes them (alphabetical).
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("numeric sample"))
    })
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    String::from_utf8(response.body.to_vec()).unwrap()
}

const REDIRECT_3XX: &str =
    r#"shortener_http_requests_total{method="GET",route="/{short_code}",status_class="3xx"}"#;
const REDIRECT_4XX: &str =
    r#"shortener_http_requests_total{method="GET",route="/{short_code}",status_class="4xx"}"#;

#[sqlx::test]
async fn requests_are_counted_by_route_template_and_status_class_never_by_raw_path(pool: PgPool) {
    let app = TestApp::new(pool);
    let before = scrape(&app).await;
    assert_eq!(sample(&before, REDIRECT_3XX), Some(0.0), "registered at 0");
    assert_eq!(sample(&before, REDIRECT_4XX), Some(0.0));

    let link = app.shorten("https://example.com/observed").await;
    let code = link.short_code;
    for _ in 0..3 {
        app.get(&format!("/{code}")).await.expect(StatusCode::FOUND);
    }
    app.get("/Zz9unknown")
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.get("/no/such/route/at/all")
        .await
        .expect_error(StatusCode::NOT_FOUND);

    let after = scrape(&app).await;
    assert_eq!(sample(&after, REDIRECT_3XX), Some(3.0));
    assert_eq!(sample(&after, REDIRECT_4XX), Some(1.0));
    assert_eq!(
        sample(
            &after,
            r#"shortener_http_requests_total{method="POST",route="/urls",status_class="2xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            r#"shortener_http_requests_total{method="GET",route="unmatched",status_class="4xx"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            r#"shortener_http_request_duration_seconds_count{method="GET",route="/{short_code}"}"#
        ),
        Some(4.0)
    );
    assert_eq!(
        sample(&after, r#"shortener_links_created_total{source="api"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&after, r#"shortener_redirects_total{outcome="found"}"#),
        Some(3.0)
    );
    for raw in [code.as_str(), "Zz9unknown", "no/such/route"] {
        assert!(!after.contains(raw), "{raw} leaked into a label:\n{after}");
    }
}

#[sqlx::test]
async fn a_method_outside_the_standard_set_is_labelled_other(pool: PgPool) {
    let app = TestApp::new(pool);
    let purge = Method::from_bytes(b"PURGE").unwrap();
    let request = Request::builder()
        .method(purge)
        .uri("/urls")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    let exposition = scrape(&app).await;
    assert_eq!(
        sample(
            &exposition,
            r#"shortener_http_requests_total{method="other",route="/urls",status_class="4xx"}"#
        ),
        Some(1.0)
    );
    assert!(!exposition.contains("PURGE"));
}

#[sqlx::test]
async fn an_unreachable_database_is_a_5xx_counted_by_error_kind(pool: PgPool) {
    let app = TestApp::new(pool);
    // A pool on a port where nothing listens: every request needing it fails to connect.
    let options = PgConnectOptions::from_str("postgres://postgres@127.0.0.1:1/none").unwrap();
    let dead = db::pool(
        options,
        &PoolSettings {
            max_connections: 2,
            min_connections: 0,
            acquire_timeout: Duration::from_millis(300),
            statement_timeout: Duration::from_secs(1),
        },
    );
    let broken = TestApp::with_settings(dead, AppSettings::default());
    broken
        .post_json("/urls", json!({"original_url": "https://example.com/x"}))
        .await
        .expect_error(StatusCode::SERVICE_UNAVAILABLE);

    let exposition = scrape(&broken).await;
    let errors: f64 = ["connection", "pool_timeout"]
        .iter()
        .map(|kind| {
            sample(
                &exposition,
                &format!(r#"shortener_db_errors_total{{kind="{kind}"}}"#),
            )
            .unwrap()
        })
        .sum();
    assert_eq!(errors, 1.0, "one failed request, one error:\n{exposition}");
    assert_eq!(
        sample(
            &exposition,
            r#"shortener_http_requests_total{method="POST",route="/urls",status_class="5xx"}"#
        ),
        Some(1.0)
    );
    // The healthy app's counters are its own.
    let healthy = scrape(&app).await;
    assert_eq!(
        sample(&healthy, r#"shortener_db_errors_total{kind="connection"}"#),
        Some(0.0)
    );
}

#[sqlx::test]
async fn a_scrape_reports_pool_runtime_and_build(pool: PgPool) {
    let ceiling = pool.options().get_max_connections();
    let app = TestApp::new(pool);
    app.shorten("https://example.com/pool").await;
    let exposition = scrape(&app).await;
    let max = sample(&exposition, "shortener_db_pool_max_connections").unwrap();
    assert_eq!(max, f64::from(ceiling));
    let idle = sample(
        &exposition,
        r#"shortener_db_pool_connections{state="idle"}"#,
    )
    .unwrap();
    let in_use = sample(
        &exposition,
        r#"shortener_db_pool_connections{state="in_use"}"#,
    )
    .unwrap();
    assert!(idle + in_use >= 1.0 && idle + in_use <= max);
    assert!(sample(&exposition, "shortener_tokio_workers").unwrap() >= 1.0);
    assert!(sample(&exposition, "shortener_tokio_alive_tasks").unwrap() >= 1.0);
    let build = exposition
        .lines()
        .find(|line| line.starts_with("shortener_build_info{"))
        .expect("build_info");
    assert!(
        build.contains(&format!(r#"version="{}""#, env!("CARGO_PKG_VERSION")))
            && build.contains(r#"replica="test""#)
            && build.ends_with(" 1"),
        "{build}"
    );
    assert_eq!(
        sample(&exposition, "shortener_click_queue_capacity"),
        Some(shortener_clicks::ClickSettings::default().capacity as f64)
    );
}

#[sqlx::test]
async fn every_request_writes_one_json_access_line_with_its_request_id_and_replica(pool: PgPool) {
    let (server, port) = crate::helpers::process::serve(&pool, &[("REPLICA_NAME", "app-7")]).await;
    let sent_id = "req-4f1e2d";
    let response = crate::helpers::process::request_with_headers(
        port,
        "GET",
        "/Zz9nothere",
        None,
        &[("X-Request-ID", sent_id)],
    )
    .await
    .unwrap();
    assert_eq!(response.status, 404);
    assert_eq!(response.header("x-request-id"), Some(sent_id));
    // The line is written after the response: give the writer a moment.
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..50 {
        lines = access_lines(&server.log(), sent_id);
        if !lines.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines.len(), 1, "exactly one line per request: {lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/{short_code}", "the template, not the path");
    assert_eq!(line["status"], 404);
    assert_eq!(line["replica"], "app-7");
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(line["timestamp"].is_string());
    assert!(
        !line.to_string().contains("Zz9nothere"),
        "no raw path: {line}"
    );
}

/// The access-log lines of one request id in a JSON log.
fn access_lines(log: &str, request_id: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "request" && line["request_id"] == request_id)
        .collect()
}

#[test]
fn an_invalid_replica_name_is_one_clear_line_and_a_non_zero_exit() {
    let output = crate::helpers::process::shortener(&["serve", "--replica-name", "app 1/x"])
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--replica-name"),
        "names the setting: {stderr}"
    );
}

#[sqlx::test]
async fn a_request_abandoned_by_its_client_leaves_the_in_flight_gauge(pool: PgPool) {
    let options = PgConnectOptions::from_str(&crate::helpers::database_url_of(&pool)).unwrap();
    let one_connection = db::pool(
        options,
        &PoolSettings {
            max_connections: 1,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(5),
        },
    );
    let app = TestApp::new(one_connection.clone());
    let held = one_connection.acquire().await.unwrap();
    // The request waits for the held connection; the client gives up and the future is
    // dropped mid-request, as hyper does when a connection closes.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        app.send_now(Request::get("/users").body(Body::empty()).unwrap()),
    )
    .await;
    assert!(abandoned.is_err(), "the request should still be waiting");
    drop(held);
    let exposition = scrape(&app).await;
    assert_eq!(
        sample(&exposition, "shortener_http_requests_in_flight"),
        Some(1.0),
        "only the scrape itself is in flight"
    );
}
