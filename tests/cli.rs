//! The `shortener` binary: subcommands, one-line start-up failures, serving and graceful shutdown.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// Settings a developer's shell might hold that would change what the binary does.
const INHERITED_SETTINGS: &[&str] = &[
    "LISTEN_ADDR",
    "REDIS_URL",
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
    "SEED_DIR",
    "HEALTHCHECK_URL",
    "HEALTHCHECK_TIMEOUT_MS",
    "RUST_LOG",
];

/// The binary with a clean environment of settings, logging to stderr as in production.
fn shortener(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shortener"));
    command.args(args);
    for name in INHERITED_SETTINGS {
        command.env_remove(name);
    }
    // Even with backtraces enabled, a bad setting must not print one.
    command.env("RUST_BACKTRACE", "1");
    command.stdin(Stdio::null());
    command
}

/// Runs the command to completion.
fn run(command: &mut Command) -> Output {
    command.output().expect("the shortener binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a failed run that explained itself in exactly one line on stderr; returns it.
#[track_caller]
fn expect_one_line_failure(output: &Output) -> String {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure, got {:?}; stderr: {stderr}",
        output.status
    );
    assert!(
        output.status.code().is_some(),
        "exited by a signal, not an exit code: {:?}",
        output.status
    );
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {stderr}");
    let lower = stderr.to_lowercase();
    assert!(
        !lower.contains("panicked") && !lower.contains("backtrace"),
        "{stderr}"
    );
    lines[0].to_owned()
}

/// A spawned process that is killed when the test ends, whatever the outcome; its
/// stdout and stderr go to a file, shown when the test fails.
struct Spawned(Child, tempfile::NamedTempFile);

impl Spawned {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// What the process has written so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.1.path()).unwrap_or_default()
    }

    /// Waits up to `limit` for the process to exit.
    async fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
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
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A port nobody listens on (just released by the OS).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over HTTP/1.0; the status code, or `None` when nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response);
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Starts `serve` on a free port against the test database.
fn serve(pool: &PgPool, extra_env: &[(&str, &str)]) -> (Spawned, u16) {
    let port = free_port();
    let mut command = shortener(&["serve"]);
    command
        .env("DATABASE_URL", common::database_url_of(pool))
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DB_MAX_CONNECTIONS", "4");
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    command
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap());
    (Spawned(command.spawn().unwrap(), log), port)
}

/// Polls `/ready` until it answers 200.
async fn wait_until_ready(server: &mut Spawned, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if http_status(port, "/ready") == Some(200) {
            return;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
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
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn migrate_applies_migrations_and_is_idempotent(pool: PgPool) {
    let url = common::database_url_of(&pool);
    for attempt in 1..=2 {
        let output = run(shortener(&["migrate"]).env("DATABASE_URL", &url));
        assert!(
            output.status.success(),
            "run {attempt}: {:?}; stderr: {}",
            output.status,
            text(&output.stderr)
        );
        for table in ["users", "urls", "events"] {
            assert_eq!(
                count(&pool, table).await,
                0,
                "{table} exists after run {attempt}"
            );
        }
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    let embedded = shortener::db::MIGRATOR.iter().count();
    assert_eq!(applied, embedded as i64, "each migration recorded once");
}

#[sqlx::test]
async fn seed_prints_counts_and_a_second_run_changes_nothing(pool: PgPool) {
    let url = common::database_url_of(&pool);
    let dir = common::platform_seed_dir();
    let dir = dir.to_str().unwrap();

    let first = run(shortener(&["seed", "--dir", dir]).env("DATABASE_URL", &url));
    let stdout = text(&first.stdout);
    assert!(
        first.status.success(),
        "{:?}; stdout: {stdout}; stderr: {}",
        first.status,
        text(&first.stderr)
    );
    for expected in [
        "users: 400 imported, 0 already present, 0 rejected",
        "urls: 2000 imported, 0 already present, 0 rejected",
        "events: 3422 imported, 0 already present, 0 rejected",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }
    let counts = (
        count(&pool, "users").await,
        count(&pool, "urls").await,
        count(&pool, "events").await,
    );
    assert_eq!(counts, (400, 2000, 3422));

    let second = run(shortener(&["seed", "--dir", dir]).env("DATABASE_URL", &url));
    let stdout = text(&second.stdout);
    assert!(second.status.success(), "{:?}; {stdout}", second.status);
    for expected in [
        "users: 0 imported, 400 already present, 0 rejected",
        "urls: 0 imported, 2000 already present, 0 rejected",
        "events: 0 imported, 3422 already present, 0 rejected",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }
    let again = (
        count(&pool, "users").await,
        count(&pool, "urls").await,
        count(&pool, "events").await,
    );
    assert_eq!(again, counts);
}

#[test]
fn unparsable_listen_addr_fails_in_one_line() {
    let output = run(&mut shortener(&["--listen-addr", "nope"]));
    let line = expect_one_line_failure(&output);
    assert!(line.contains("nope"), "{line}");
    let output = run(shortener(&["serve"]).env("LISTEN_ADDR", "nope"));
    expect_one_line_failure(&output);
}

#[test]
fn non_postgres_database_url_fails_in_one_line() {
    for args in [&["serve"][..], &["migrate"], &["seed"]] {
        let output = run(shortener(args).env("DATABASE_URL", "mysql://x"));
        let line = expect_one_line_failure(&output);
        assert!(
            line.contains("DATABASE_URL") || line.contains("database"),
            "{line}"
        );
    }
}

#[test]
fn non_redis_redis_url_fails_in_one_line() {
    let output = run(shortener(&["serve"]).env("REDIS_URL", "http://x"));
    let line = expect_one_line_failure(&output);
    assert!(line.to_lowercase().contains("redis"), "{line}");
}

#[test]
fn short_code_length_below_three_fails_in_one_line() {
    let output = run(shortener(&["serve"]).env("SHORT_CODE_LENGTH", "2"));
    let line = expect_one_line_failure(&output);
    assert!(line.contains('2'), "{line}");
}

#[test]
fn unreachable_database_fails_in_one_line() {
    let started = Instant::now();
    let output = run(shortener(&["serve"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("DB_CONNECT_WAIT_SECS", "1")
        .env("LISTEN_ADDR", "127.0.0.1:0"));
    let line = expect_one_line_failure(&output);
    assert!(line.contains("database"), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "gave up after {:?}",
        started.elapsed()
    );
    let output = run(shortener(&["migrate"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
        .env("DB_CONNECT_WAIT_SECS", "1"));
    expect_one_line_failure(&output);
}

#[sqlx::test]
async fn port_in_use_fails_in_one_line(pool: PgPool) {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(shortener(&["serve"])
        .env("DATABASE_URL", common::database_url_of(&pool))
        .env("LISTEN_ADDR", &addr));
    let line = expect_one_line_failure(&output);
    assert!(line.contains(&addr), "{line}");
    drop(taken);
}

#[sqlx::test]
async fn serve_becomes_ready_and_healthcheck_reports_it(pool: PgPool) {
    let (mut server, port) = serve(&pool, &[]);
    wait_until_ready(&mut server, port).await;
    assert_eq!(http_status(port, "/live"), Some(200));
    assert_eq!(http_status(port, "/health"), Some(200));

    let ready_url = format!("http://127.0.0.1:{port}/ready");
    let healthy = run(&mut shortener(&["healthcheck", "--url", &ready_url]));
    assert!(
        healthy.status.success(),
        "{:?}; stderr: {}",
        healthy.status,
        text(&healthy.stderr)
    );

    let closed = format!("http://127.0.0.1:{}/ready", free_port());
    let unhealthy = run(&mut shortener(&["healthcheck", "--url", &closed]));
    expect_one_line_failure(&unhealthy);
}

#[sqlx::test]
async fn sigterm_drains_with_ready_503_then_exits_cleanly(pool: PgPool) {
    let (mut server, port) = serve(&pool, &[("SHUTDOWN_DELAY_MS", "1500")]);
    wait_until_ready(&mut server, port).await;

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // Readiness flips as soon as the signal is handled; liveness stays.
    let mut ready = http_status(port, "/ready");
    while ready == Some(200) && signalled.elapsed() < Duration::from_millis(1000) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = http_status(port, "/ready");
    }
    assert_eq!(ready, Some(503), "/ready while draining");
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "checked within the delay"
    );
    assert_eq!(
        http_status(port, "/live"),
        Some(200),
        "/live while draining"
    );
    let healthcheck = run(&mut shortener(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{port}/ready"),
    ]));
    expect_one_line_failure(&healthcheck);

    let status = server.exit_within(Duration::from_secs(6)).await;
    assert_eq!(status.code(), Some(0), "{status:?}; log: {}", server.log());
    assert!(
        signalled.elapsed() >= Duration::from_millis(1400),
        "the process waited out the delay: exited after {:?}",
        signalled.elapsed()
    );
    assert_eq!(http_status(port, "/live"), None, "nothing listens any more");
}

#[test]
fn help_lists_every_setting_and_exits_0() {
    let output = run(&mut shortener(&["--help"]));
    assert!(output.status.success(), "{:?}", output.status);
    let help = text(&output.stdout);
    for name in [
        "LISTEN_ADDR",
        "DATABASE_URL",
        "REDIS_URL",
        "LOG_FORMAT",
        "RUN_MIGRATIONS",
        "DB_MAX_CONNECTIONS",
        "DB_ACQUIRE_TIMEOUT_MS",
        "DB_STATEMENT_TIMEOUT_MS",
    ] {
        assert!(help.contains(name), "--help lacks {name}: {help}");
    }
    for subcommand in ["serve", "migrate", "seed", "healthcheck"] {
        assert!(
            help.contains(subcommand),
            "--help lacks {subcommand}: {help}"
        );
    }
}
