//! The `shortener` binary: subcommands, one-line start-up failures, serving and graceful shutdown.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::helpers::count_rows;
use crate::helpers::process::{free_port, request, serve, shortener, status_of};
use sqlx::PgPool;

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

#[sqlx::test(migrations = false)]
async fn migrate_applies_migrations_and_is_idempotent(pool: PgPool) {
    let url = crate::helpers::database_url_of(&pool);
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
                count_rows(&pool, table).await,
                0,
                "{table} exists after run {attempt}"
            );
        }
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    let embedded = shortener_store::MIGRATOR.iter().count();
    assert_eq!(applied, embedded as i64, "each migration recorded once");
}

#[sqlx::test]
async fn seed_prints_counts_and_a_second_run_changes_nothing(pool: PgPool) {
    let url = crate::helpers::database_url_of(&pool);
    let dir = crate::helpers::platform_seed_dir();
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
        count_rows(&pool, "users").await,
        count_rows(&pool, "urls").await,
        count_rows(&pool, "events").await,
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
        count_rows(&pool, "users").await,
        count_rows(&pool, "urls").await,
        count_rows(&pool, "events").await,
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
fn an_unwritable_log_file_fails_in_one_line() {
    let output = run(shortener(&["migrate"]).env("LOG_FILE", "/nonexistent/dir/app.log"));
    let line = expect_one_line_failure(&output);
    assert!(line.contains("LOG_FILE /nonexistent/dir/app.log"), "{line}");
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
fn a_click_retention_that_is_not_a_number_of_days_fails_in_one_line() {
    for bad in ["-1", "a week", "36501"] {
        let output = run(shortener(&["serve"]).env("CLICK_RETENTION_DAYS", bad));
        let line = expect_one_line_failure(&output);
        assert!(line.contains("click-retention-days"), "{bad}: {line}");
    }
}

#[test]
fn bad_access_settings_fail_in_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "# ok\nops admin sha256:abc\n").unwrap();
    let missing = dir.path().join("absent");
    for (setting, value, says) in [
        (
            "API_KEYS_FILE",
            keys.to_str().unwrap(),
            "API_KEYS_FILE line 2",
        ),
        (
            "API_KEYS_FILE",
            missing.to_str().unwrap(),
            "API_KEYS_FILE: cannot read",
        ),
        ("BLOCKED_DOMAINS", "fine.example,bad:80", "BLOCKED_DOMAINS"),
        (
            "BLOCKED_DOMAINS_FILE",
            missing.to_str().unwrap(),
            "BLOCKED_DOMAINS_FILE: cannot read",
        ),
        (
            "BLOCKED_DOMAINS",
            "10.0.0.0/8,10.0.0.1/8",
            "BLOCKED_DOMAINS: \"10.0.0.1/8\" has bits set after its prefix",
        ),
        ("ALLOW_PRIVATE_TARGETS", "maybe", "allow-private-targets"),
        ("PUBLIC_HOSTS", "sho.rt/path", "PUBLIC_HOSTS"),
    ] {
        let output = run(shortener(&["serve"])
            .env(setting, value)
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
            .env("DB_CONNECT_WAIT_SECS", "30"));
        let line = expect_one_line_failure(&output);
        assert!(line.contains(says), "{setting}={value}: {line}");
    }
    let output = run(&mut shortener(&[
        "api-key", "--name", "x", "--scope", "root",
    ]));
    let line = expect_one_line_failure(&output);
    assert!(line.contains("read, write, admin"), "{line}");
}

#[test]
fn a_replica_without_keys_refuses_to_start_unless_allowed_open() {
    for allow in [None, Some("false")] {
        let mut command = shortener(&["serve"]);
        command
            .env_remove("ALLOW_OPEN_API")
            // Reachable or not, the database is never tried: the settings fail first.
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")
            .env("DB_CONNECT_WAIT_SECS", "30");
        if let Some(allow) = allow {
            command.env("ALLOW_OPEN_API", allow);
        }
        let line = expect_one_line_failure(&run(&mut command));
        for setting in ["API_KEYS", "API_KEYS_FILE", "ALLOW_OPEN_API"] {
            assert!(line.contains(setting), "{allow:?}: {line}");
        }
    }
}

#[sqlx::test]
async fn an_open_api_must_be_asked_for_and_is_warned_of(pool: PgPool) {
    let (mut server, port) = serve(&pool, &[("ALLOW_OPEN_API", "true")]).await;
    let created = request(
        port,
        "POST",
        "/urls",
        Some(r#"{"original_url":"https://example.com/open"}"#),
    )
    .await
    .unwrap();
    assert_eq!(created.status, 201, "open means no key is asked for");
    server.sigterm();
    server.exit_within(Duration::from_secs(15)).await;
    assert!(
        server.log().contains("the API is open to anyone"),
        "{}",
        server.log()
    );
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
        .env("DATABASE_URL", crate::helpers::database_url_of(&pool))
        .env("LISTEN_ADDR", &addr));
    let line = expect_one_line_failure(&output);
    assert!(line.contains(&addr), "{line}");
    drop(taken);
}

#[sqlx::test]
async fn serve_becomes_ready_and_healthcheck_reports_it(pool: PgPool) {
    let (_server, port) = serve(&pool, &[]).await;
    assert_eq!(status_of(port, "/live").await, Some(200));
    assert_eq!(status_of(port, "/health").await, Some(200));

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
    let (mut server, port) = serve(&pool, &[("SHUTDOWN_DELAY_MS", "1500")]).await;

    let signalled = Instant::now();
    server.sigterm();

    // Readiness flips as soon as the signal is handled; liveness stays.
    let mut ready = status_of(port, "/ready").await;
    while ready == Some(200) && signalled.elapsed() < Duration::from_millis(1000) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = status_of(port, "/ready").await;
    }
    assert_eq!(ready, Some(503), "/ready while draining");
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "checked within the delay"
    );
    assert_eq!(
        status_of(port, "/live").await,
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
    assert_eq!(
        status_of(port, "/live").await,
        None,
        "nothing listens any more"
    );
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
        "CLICK_RETENTION_DAYS",
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
