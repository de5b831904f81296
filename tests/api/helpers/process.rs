//! The `shortener` binary as a child process: a clean environment of settings, its output kept
//! in a temp file, `serve` on a free port against the test database, and one-shot requests to it
//! (reqwest).

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use sqlx::PgPool;

/// Settings a developer's shell might hold that would change what the binary does.
pub const INHERITED_SETTINGS: &[&str] = &[
    "LISTEN_ADDR",
    "REDIS_URL",
    "API_KEYS",
    "API_KEYS_FILE",
    "LOG_FORMAT",
    "RUN_MIGRATIONS",
    "SHORT_CODE_LENGTH",
    "SHUTDOWN_DELAY_MS",
    "SHUTDOWN_GRACE_SECS",
    "DB_MAX_CONNECTIONS",
    "DB_MIN_CONNECTIONS",
    "DB_ACQUIRE_TIMEOUT_MS",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_CONNECT_WAIT_SECS",
    "CLICK_QUEUE_CAPACITY",
    "CLICK_BATCH_MAX",
    "CLICK_FLUSH_INTERVAL_MS",
    "CLICK_RETENTION_DAYS",
    "SEED_DIR",
    "HEALTHCHECK_URL",
    "HEALTHCHECK_TIMEOUT_MS",
    "RUST_LOG",
];

/// How long `serve` may take to answer 200 on `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The binary with a clean environment of settings, logging to stderr as in production.
/// The API is let run open (`ALLOW_OPEN_API`) unless a test gives keys or removes it:
/// most tests of the binary are about something else than keys.
pub fn shortener(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shortener"));
    command.args(args);
    for name in INHERITED_SETTINGS {
        command.env_remove(name);
    }
    command.env("ALLOW_OPEN_API", "true");
    // Even with backtraces enabled, a bad setting must not print one.
    command.env("RUST_BACKTRACE", "1");
    command.stdin(Stdio::null());
    command
}

/// A spawned process that is killed when the test ends, whatever the outcome; its
/// stdout and stderr go to a file, shown when the test fails.
pub struct Spawned {
    child: Child,
    output: tempfile::NamedTempFile,
}

impl Spawned {
    /// Spawns `command` with its stdout and stderr going to a new temp file.
    pub fn spawn(command: &mut Command) -> Self {
        let output = tempfile::NamedTempFile::new().unwrap();
        command
            .stdout(output.reopen().unwrap())
            .stderr(output.reopen().unwrap());
        let child = command.spawn().unwrap();
        Self { child, output }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has written so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.output.path()).unwrap_or_default()
    }

    /// The exit status, if the process has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Sends SIGTERM with kill(1); the crate forbids unsafe code.
    pub fn sigterm(&self) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {limit:?}; log: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (just released by the OS).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A whole response of the spawned server.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request to `127.0.0.1:port` on a connection of its own (a JSON body when given, extra
/// headers on top), so that a test sees exactly what the server answered: no redirect
/// followed, no retry, no proxy, no pooled connection. The response, or `None` when nothing
/// answers (within 5 s to connect and 10 s in all).
pub async fn request_with_headers(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Option<Response> {
    let body = body.map(|json| ("application/json", json.as_bytes().to_vec()));
    send(port, method, path, body, headers, Duration::from_secs(10)).await
}

/// `POST path` with `body` of `content_type` (an upload), allowed `timeout` in all.
pub async fn post_bytes(
    port: u16,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Option<Response> {
    send(port, "POST", path, Some((content_type, body)), &[], timeout).await
}

async fn send(
    port: u16,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Option<Response> {
    // The workspace's reqwest has rustls without a provider (the webhook client brings
    // its own): this one, plain HTTP only, is given ring's as the default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .pool_max_idle_per_host(0)
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .expect("an HTTP client");
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let mut request = client.request(method, format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, body)) = body {
        request = request.header(CONTENT_TYPE, content_type).body(body);
    }
    let response = request.send().await.ok()?;
    Some(Response {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.ok()?.to_vec(),
    })
}

/// [`request_with_headers`] without extra headers.
pub async fn request(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<Response> {
    request_with_headers(port, method, path, body, &[]).await
}

/// `GET path`: the status code, or `None` when nothing answers.
pub async fn status_of(port: u16, path: &str) -> Option<u16> {
    request(port, "GET", path, None)
        .await
        .map(|response| response.status)
}

/// Starts `serve` on a free port against the test database behind `pool`, with `extra_env`
/// on top, and waits until `/ready` answers 200; returns the process and its port.
pub async fn serve(pool: &PgPool, extra_env: &[(&str, &str)]) -> (Spawned, u16) {
    let port = free_port();
    let mut command = shortener(&["serve"]);
    command
        .env("DATABASE_URL", super::database_url_of(pool))
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DB_MAX_CONNECTIONS", "4");
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let mut server = Spawned::spawn(&mut command);

    let deadline = Instant::now() + READY_TIMEOUT;
    while status_of(port, "/ready").await != Some(200) {
        if let Some(status) = server.try_wait() {
            panic!(
                "the server exited before it was ready: {status:?}; log: {}",
                server.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "/ready never answered 200; log: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, port)
}
