//! API keys in the real binary: `shortener api-key` makes a key that `API_KEYS_FILE`
//! accepts, keys from `API_KEYS` work, and no secret ever reaches the log.

use sqlx::PgPool;

use crate::helpers::process::{request_with_headers, serve, shortener};

/// `shortener api-key`: the secret and its file line.
fn new_key(name: &str, scope: &str) -> (String, String) {
    let output = shortener(&["api-key", "--name", name, "--scope", scope])
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let secret = lines.next().unwrap().to_owned();
    let line = lines.next().unwrap().to_owned();
    assert!(secret.starts_with("sk_") && secret.len() == 43, "{secret}");
    assert!(
        !line.contains(&secret),
        "the file line holds only a digest: {line}"
    );
    (secret, line)
}

#[sqlx::test]
async fn generated_and_plain_keys_work_and_never_reach_the_log(pool: PgPool) {
    let (reader, reader_line) = new_key("reporting", "read");
    let (writer, writer_line) = new_key("ci-bot", "write");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys");
    std::fs::write(&file, format!("# keys\n{reader_line}\n{writer_line}\n")).unwrap();
    let plain = "plain-admin-key-0123456789";
    let (mut server, port) = serve(
        &pool,
        &[
            ("API_KEYS", plain),
            ("API_KEYS_FILE", file.to_str().unwrap()),
            ("LOG_FORMAT", "json"),
        ],
    )
    .await;
    let create = Some(r#"{"original_url":"https://example.com/k"}"#);
    let auth = |key: &str| format!("Bearer {key}");
    let status = |response: Option<crate::helpers::process::Response>| response.unwrap().status;
    assert_eq!(
        status(request_with_headers(port, "POST", "/urls", create, &[]).await),
        401
    );
    let as_reader = auth(&reader);
    let headers = [("authorization", as_reader.as_str())];
    assert_eq!(
        status(request_with_headers(port, "POST", "/urls", create, &headers).await),
        403
    );
    assert_eq!(
        status(request_with_headers(port, "GET", "/urls", None, &headers).await),
        200
    );
    for key in [writer.as_str(), plain] {
        let header = auth(key);
        let headers = [("authorization", header.as_str())];
        assert_eq!(
            status(request_with_headers(port, "POST", "/urls", create, &headers).await),
            201
        );
    }
    server.sigterm();
    server.exit_within(std::time::Duration::from_secs(15)).await;
    let log = server.log();
    for secret in [reader.as_str(), writer.as_str(), plain] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    // The access log names the key instead.
    for name in [
        "\"key\":\"reporting\"",
        "\"key\":\"ci-bot\"",
        "\"key\":\"env-1\"",
    ] {
        assert!(log.contains(name), "{name} missing from the log: {log}");
    }
}
