//! Link safety: only http(s) destinations without user info, a configurable blocklist of
//! domains, addresses and ranges, no link back at the service's own host, and no link to
//! an internal address unless ALLOW_PRIVATE_TARGETS. (Codes that would shadow a route:
//! tests/api/urls/create.rs.)

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::bodies::Link;
use crate::helpers::process::{request, serve};
use crate::helpers::{TestApp, TestResponse, count_rows};
use shortener_domain::LinkPolicy;
use shortener_server::replica::AppSettings;

/// Destinations every default service refuses, with what the refusal says.
const REFUSED: &[(&str, &str)] = &[
    ("https://paypal.com@evil.example/", "user name or password"),
    ("https://user:pw@x.example/", "user name or password"),
    ("https://@x.example/", "user name or password"),
    ("http://127.0.0.1/", "loopback address"),
    ("http://127.8.9.10:8080/x", "loopback address"),
    ("http://2130706433/", "loopback address"),
    ("http://0x7f.1/", "loopback address"),
    ("http://127.1/", "loopback address"),
    ("http://[::1]/", "loopback address"),
    ("http://[::ffff:127.0.0.1]/", "loopback address"),
    ("http://localhost/", "loopback address"),
    ("http://LOCALHOST.:3000/", "loopback address"),
    ("http://admin.localhost/", "loopback address"),
    ("http://admin.localhost./", "loopback address"),
    ("http://10.0.0.1/", "private address"),
    ("http://172.16.0.1/", "private address"),
    ("http://172.31.255.254/", "private address"),
    ("http://192.168.1.1/", "private address"),
    ("http://[fd00::1]/", "private address"),
    ("http://[::ffff:10.0.0.1]/", "private address"),
    ("http://[::ffff:a00:1]/", "private address"),
    ("http://[64:ff9b::a00:1]/", "private address"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "link-local address",
    ),
    ("http://[fe80::1]/", "link-local address"),
    ("http://100.64.0.1/", "carrier-grade NAT address"),
    ("http://0.0.0.0/", "unspecified address"),
    ("http://[::]/", "unspecified address"),
    ("http://224.0.0.1/", "multicast address"),
    ("http://[ff02::1]/", "multicast address"),
    ("http://255.255.255.255/", "broadcast address"),
    ("http://240.0.0.1/", "reserved address"),
];

fn app_with_policy(pool: PgPool, policy: LinkPolicy) -> TestApp {
    let settings = AppSettings {
        link_policy: policy,
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

fn app_with_blocklist(pool: PgPool) -> TestApp {
    let policy = LinkPolicy::new(["blocked.example", "192.0.2.7"], ["sho.rt"]).unwrap();
    app_with_policy(pool, policy)
}

/// `POST /urls` with the given destination, as a client of `host`.
async fn shorten_via(app: &TestApp, host: &str, url: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/urls")
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"original_url": url}).to_string()))
        .unwrap();
    app.send(request).await
}

/// Asserts a 400 whose `original_url` detail says `says`.
#[track_caller]
fn assert_refused(response: &TestResponse, url: &str, says: &str) {
    let body = response.expect_error(StatusCode::BAD_REQUEST);
    let problem = body.detail("original_url");
    assert!(problem.contains(says), "{url}: {body}");
}

#[sqlx::test]
async fn blocked_own_and_non_http_destinations_are_400s_naming_the_field(pool: PgPool) {
    let app = app_with_blocklist(pool.clone());
    for (url, says) in [
        ("https://blocked.example/x", "blocked domain"),
        ("https://cdn.Blocked.Example./x", "blocked domain"),
        ("http://192.0.2.7/", "blocked domain"),
        ("http://[::ffff:c000:207]/", "blocked domain"),
        ("https://sho.rt/abc", "loop"),
        ("http://api.test:8080/abc", "loop"),
        ("javascript:alert(1)", "http or https"),
        ("data:text/html,hi", "http or https"),
        ("file:///etc/passwd", "http or https"),
    ] {
        let response = shorten_via(&app, "api.test:8080", url).await;
        assert_refused(&response, url, says);
    }
    assert_eq!(count_rows(&pool, "urls").await, 0);
    // Neighbours of the refused ones are fine.
    for url in [
        "https://notblocked.example/",
        "https://blocked.example.org/",
        "http://api.test:9090/",
    ] {
        shorten_via(&app, "api.test:8080", url)
            .await
            .expect(StatusCode::CREATED);
    }
}

#[sqlx::test]
async fn user_info_and_internal_addresses_are_400s_naming_the_field_and_store_nothing(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    for (url, says) in REFUSED {
        let response = app.post_json("/urls", json!({"original_url": url})).await;
        assert_refused(&response, url, says);
    }
    assert_eq!(count_rows(&pool, "urls").await, 0);
    assert_eq!(count_rows(&pool, "events").await, 0);
    // Public hosts, in each form, are fine.
    for url in [
        "https://example.com",
        "http://93.184.216.34/",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
        "https://xn--bcher-kva.example/",
        "https://localhost.example.com/",
    ] {
        assert_eq!(app.shorten(url).await.original_url, url);
    }
}

#[sqlx::test]
async fn an_edit_cannot_point_a_link_where_a_create_could_not(pool: PgPool) {
    let app = app_with_blocklist(pool.clone());
    let link = app.shorten("https://example.com/fine").await;
    let refused = [("https://x.blocked.example/", "blocked domain")];
    for (url, says) in refused.iter().chain(REFUSED) {
        let response = app
            .update_link(link.id, json!({"original_url": url, "title": "changed"}))
            .await;
        assert_refused(&response, url, says);
    }
    // There is no PATCH route: it changes nothing either.
    let patch = json!({"original_url": "http://10.0.0.1/"}).to_string();
    app.raw(
        Method::PATCH,
        &format!("/urls/{}", link.id),
        Some("application/json"),
        patch,
    )
    .await
    .expect_error(StatusCode::METHOD_NOT_ALLOWED);
    let stored = app
        .get_link(link.id)
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert_eq!(stored.original_url, "https://example.com/fine");
    assert_eq!(stored.title, None);
    assert_eq!(stored.updated_at, link.updated_at);
    assert_eq!(
        count_rows(&pool, "events").await,
        1,
        "only the created event"
    );
}

#[sqlx::test]
async fn with_private_targets_allowed_internal_hosts_are_accepted_and_user_info_is_not(
    pool: PgPool,
) {
    let policy = LinkPolicy::new(["10.9.0.0/16"], [])
        .unwrap()
        .allowing_private_targets(true);
    let app = app_with_policy(pool, policy);
    for url in [
        "http://127.0.0.1:3000/x",
        "http://localhost:8080/",
        "http://wiki.localhost/",
        "http://10.0.0.1/",
        "http://[::ffff:192.168.0.1]/",
        "http://169.254.169.254/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
    ] {
        assert_eq!(app.shorten(url).await.original_url, url);
    }
    for (url, says) in [
        ("https://user:pw@intranet.example/", "user name or password"),
        ("http://224.0.0.1/", "multicast address"),
        ("http://10.9.1.1/", "blocked domain"),
        ("http://[::ffff:a09:101]/", "blocked domain"),
    ] {
        let response = app.post_json("/urls", json!({"original_url": url})).await;
        assert_refused(&response, url, says);
    }
}

/// The binary reads the setting and the file's ranges: private targets are refused by
/// default, allowed with ALLOW_PRIVATE_TARGETS, and a file entry still blocks its range.
#[sqlx::test]
async fn the_binary_takes_allow_private_targets_and_blocked_ranges_from_its_settings(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blocked");
    std::fs::write(&file, "# the lab\n10.9.0.0/16 # not linked to\n").unwrap();
    let file = file.to_str().unwrap();
    let post = |port, url: &str| {
        let body = json!({"original_url": url}).to_string();
        async move {
            request(port, "POST", "/urls", Some(&body))
                .await
                .expect("an answer")
                .status
        }
    };
    for (allow, expected) in [
        (None, [400, 400]),
        (Some("false"), [400, 400]),
        (Some("true"), [201, 400]),
    ] {
        let mut settings = vec![("BLOCKED_DOMAINS_FILE", file)];
        settings.extend(allow.map(|value| ("ALLOW_PRIVATE_TARGETS", value)));
        let (mut server, port) = serve(&pool, &settings).await;
        let answers = [
            post(port, "http://10.0.0.1/").await,
            post(port, "http://[::ffff:a09:101]/").await,
        ];
        assert_eq!(answers, expected, "ALLOW_PRIVATE_TARGETS={allow:?}");
        server.sigterm();
        server.exit_within(Duration::from_secs(15)).await;
    }
}
