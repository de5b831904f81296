//! The edge through the native stack's Nginx with a real replica behind it
//! (docs/security.md, "Edge"): a body past the app's JSON limit is refused by Nginx with
//! the very answer the app gives, a CSV upload past it still reaches the import, and
//! `/health` and `/ready` are kept off the public server but answered on the internal one.
//! `scripts/check-configs` checks the same configuration in seconds against a stub
//! upstream; this test proves it with the app.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use shortener_http::{JSON_BODY_LIMIT, UPLOAD_BODY_LIMIT};

use crate::http::{Client, Response};
use crate::native_stack::Stack;

/// `up` may install packages on a fresh machine.
const UP_TIMEOUT: Duration = Duration::from_secs(600);
/// Over the JSON limit, far under the upload limit.
const BODY: usize = 2 * 1024 * 1024;
const _: () = assert!(JSON_BODY_LIMIT < BODY && BODY < UPLOAD_BODY_LIMIT);

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

#[derive(Deserialize)]
struct ImportReport {
    count: u64,
    error_count: u64,
}

#[derive(Deserialize)]
struct Probe {
    status: String,
    database: String,
}

fn json<T: for<'de> Deserialize<'de>>(response: &Response) -> T {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{} {}",
        response.status,
        response.text()
    );
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("{e}: {} {}", response.status, response.text()))
}

/// A users CSV of at least `size` bytes as a multipart form: (content type, body, rows).
fn users_upload(size: usize) -> (String, Vec<u8>, u64) {
    let boundary = "edge-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nusername,email\n"
    );
    let mut row = 0;
    while body.len() < size {
        body.push_str(&format!("edge-{row},edge-{row}@example.com\n"));
        row += 1;
    }
    body.push_str(&format!("\r\n--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
        row,
    )
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn nginx_holds_bodies_to_the_apps_limits_and_keeps_health_and_ready_internal() {
    let mut stack = Stack::new(1);
    stack.run(&["up", "--replicas", "1"], UP_TIMEOUT);
    let entry = SocketAddr::from((Ipv4Addr::LOCALHOST, stack.ports.http));
    let internal = SocketAddr::from((Ipv4Addr::LOCALHOST, stack.ports.internal));
    let public = Client::for_stack(entry);
    let replica = Client::for_stack(stack.app_addr(1).parse().unwrap());

    // 2 MiB of JSON: Nginx answers 413 itself, exactly as the replica would, and the
    // replica never sees the request.
    let big = format!(r#"{{"url": "https://example.com/{}"}}"#, "a".repeat(BODY));
    let from = stack.access_log_len();
    let refused = public.request("POST", "/urls", Some(&big)).unwrap();
    assert_eq!(refused.status, 413, "{}", refused.text());
    assert_eq!(refused.headers_named("x-request-id").len(), 1);
    let by_nginx: ErrorBody = json(&refused);
    assert_eq!(
        by_nginx.error,
        format!("request body is too large (limit {JSON_BODY_LIMIT} bytes)")
    );
    let by_app = replica.request("POST", "/urls", Some(&big)).unwrap();
    assert_eq!(by_app.status, 413, "{}", by_app.text());
    assert_eq!(
        serde_json::from_slice::<Value>(&refused.body).unwrap(),
        serde_json::from_slice::<Value>(&by_app.body).unwrap(),
        "Nginx's 413 is the app's"
    );
    let logged = stack.access_log_until(from, Duration::from_secs(5), |lines| {
        lines.iter().any(|l| l["status"] == 413)
    });
    let line = logged
        .iter()
        .find(|l| l["status"] == 413)
        .expect("the 413's line");
    assert_eq!(line["upstream_addr"], "", "the 413 never reached a replica");

    // 2 MiB of CSV to the import: through Nginx to the replica, every row imported.
    let (content_type, upload, rows) = users_upload(BODY);
    let imported = public
        .request_bytes("POST", "/users/bulk", &content_type, upload)
        .unwrap();
    assert_eq!(imported.status, 201, "{}", imported.text());
    let report: ImportReport = json(&imported);
    assert_eq!((report.count, report.error_count), (rows, 0));

    // /health and /ready: 404 on the public server, the pool's answer on the internal one.
    for path in ["/health", "/ready"] {
        let hidden = public.request("GET", path, None).unwrap();
        assert_eq!(hidden.status, 404, "public {path}: {}", hidden.text());
        assert_eq!(json::<ErrorBody>(&hidden).error, "not found");
        let answered = Client::new(internal).request("GET", path, None).unwrap();
        assert_eq!(answered.status, 200, "internal {path}: {}", answered.text());
        let probe: Probe = json(&answered);
        assert_eq!(
            (probe.status.as_str(), probe.database.as_str()),
            ("ok", "ok")
        );
    }
    let live = public.request("GET", "/live", None).unwrap();
    assert_eq!(live.status, 200, "public /live: {}", live.text());

    stack.down();
}
