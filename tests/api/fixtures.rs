//! Self-tests of the private Redis and PostgreSQL fixtures in `crate::helpers::servers`: they start,
//! pause, stop and restart as promised, and leave nothing running behind them.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::servers::{PgCluster, RedisServer};
use deadpool_redis::redis;
use sqlx::{Connection, PgConnection, PgPool};

/// Sends a raw `PING` and returns the reply line; a paused server gives a read timeout.
fn raw_ping(port: u16) -> io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_millis(300)))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0; 64];
    let read = stream.read(&mut reply)?;
    Ok(String::from_utf8_lossy(&reply[..read])
        .trim_end()
        .to_owned())
}

/// True once connecting to the port is refused, polling for up to `within`.
fn refuses_connections(port: u16, within: Duration) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + within;
    loop {
        match TcpStream::connect_timeout(&address, Duration::from_millis(300)) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return true,
            _ if Instant::now() >= deadline => return false,
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Processes whose command line matches the pattern, as `pgrep -a -f` lists them.
fn processes_matching(pattern: &str) -> String {
    let output = Command::new("pgrep")
        .args(["-a", "-f", "--", pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The postmaster's command line carries `-p PORT -k DIR`; its children die with it.
fn postmaster_pattern(port: u16) -> String {
    format!("postgres -D .* -p {port} -k ")
}

#[test]
fn redis_server_answers_ping_and_keeps_what_is_set() {
    let redis = RedisServer::start();
    assert_ne!(redis.port(), 6379);
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    assert_eq!(raw_ping(redis.port()).unwrap(), "+PONG");
    assert_eq!(redis.cli(&["SET", "greeting", "hello"]), "OK");
    assert_eq!(redis.cli(&["GET", "greeting"]), "hello");
    assert_eq!(redis.cli(&["KEYS", "*"]), "greeting");
}

#[tokio::test]
async fn redis_url_works_with_deadpool_redis() {
    let redis = RedisServer::start();
    let pool = deadpool_redis::Config::from_url(redis.url())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let mut connection = pool.get().await.unwrap();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(redis.cli(&["GET", "k"]), "v");
}

#[test]
fn paused_redis_accepts_connections_but_answers_nothing_until_resumed() {
    let redis = RedisServer::start();
    redis.cli(&["SET", "kept", "yes"]);

    redis.pause();
    let started = Instant::now();
    let error = raw_ping(redis.port()).expect_err("a paused server must not answer");
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "expected a read timeout, got {error:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    redis.resume();
    assert_eq!(raw_ping(redis.port()).unwrap(), "+PONG");
    assert_eq!(redis.cli(&["GET", "kept"]), "yes");
}

#[test]
fn killed_redis_refuses_connections_and_restarts_empty_on_the_same_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.cli(&["SET", "lost", "soon"]);

    redis.kill();
    assert!(refuses_connections(port, Duration::ZERO));

    redis.restart();
    assert_eq!(redis.port(), port);
    assert_eq!(raw_ping(port).unwrap(), "+PONG");
    assert_eq!(redis.cli(&["KEYS", "*"]), "");
}

#[test]
fn dropped_redis_leaves_no_process_even_when_paused() {
    let redis = RedisServer::start();
    let port = redis.port();
    redis.pause();
    drop(redis);
    assert!(refuses_connections(port, Duration::ZERO));
    assert_eq!(
        processes_matching(&format!("redis-server 127.0.0.1:{port}")),
        ""
    );
}

#[tokio::test]
async fn pg_cluster_accepts_sqlx_connections_and_creates_databases() {
    let started = Instant::now();
    let cluster = PgCluster::start();
    eprintln!("PgCluster::start took {:?}", started.elapsed());
    assert_ne!(cluster.port(), 5432);
    assert_eq!(
        cluster.url("postgres"),
        format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port())
    );

    let pool = PgPool::connect(&cluster.url("postgres")).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let encoding: String = sqlx::query_scalar("SHOW server_encoding")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(encoding, "UTF8");

    cluster.create_database("app_test");
    let mut connection = PgConnection::connect(&cluster.url("app_test"))
        .await
        .unwrap();
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(database, "app_test");
}

#[tokio::test]
async fn stopped_pg_cluster_refuses_connections_until_started_again() {
    let cluster = PgCluster::start();
    let url = cluster.url("postgres");
    let mut connection = PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE kept (id int)")
        .execute(&mut connection)
        .await
        .unwrap();

    cluster.stop();
    assert!(
        sqlx::query("SELECT 1")
            .execute(&mut connection)
            .await
            .is_err()
    );
    let started = Instant::now();
    let error = PgConnection::connect(&url)
        .await
        .expect_err("a stopped cluster must refuse");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&error, sqlx::Error::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused),
        "{error:?}"
    );

    cluster.start_again();
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM kept")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(kept, 0, "the table survives the restart");
}

#[tokio::test]
async fn dropped_pg_cluster_leaves_no_process_even_with_open_connections() {
    let cluster = PgCluster::start();
    let port = cluster.port();
    let _connection = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    assert_ne!(processes_matching(&postmaster_pattern(port)), "");
    drop(cluster);
    assert!(refuses_connections(port, Duration::ZERO));
    assert_eq!(processes_matching(&postmaster_pattern(port)), "");
}

#[test]
fn servers_are_gone_after_a_test_panics() {
    let (sender, receiver) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let redis = RedisServer::start();
        let cluster = PgCluster::start();
        sender.send((redis.port(), cluster.port())).unwrap();
        panic!("a failing test");
    })
    .join();
    assert!(outcome.is_err());
    let (redis_port, pg_port) = receiver.recv().unwrap();
    assert!(refuses_connections(redis_port, Duration::ZERO));
    assert!(refuses_connections(pg_port, Duration::ZERO));
}

/// Set in the child process of `servers_are_gone_after_the_test_process_is_killed`.
const HOLD_SERVERS: &str = "FIXTURES_HOLD_SERVERS";

/// In the child process only: starts both servers, prints their ports and waits to be killed.
/// Not a test of its own, so ignored in every run but that child's.
#[test]
#[ignore = "the child process of servers_are_gone_after_the_test_process_is_killed"]
fn hold_servers_until_killed() {
    if std::env::var_os(HOLD_SERVERS).is_none() {
        return;
    }
    let redis = RedisServer::start();
    let cluster = PgCluster::start();
    println!("ports {} {}", redis.port(), cluster.port());
    io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn servers_are_gone_after_the_test_process_is_killed() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fixtures::hold_servers_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_SERVERS, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ports = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // The harness prints `test NAME ... ` before it on the same line.
        if let Some((_, rest)) = line.split_once("ports ") {
            let (redis, pg) = rest.split_once(' ').unwrap();
            ports = Some((redis.parse::<u16>().unwrap(), pg.parse::<u16>().unwrap()));
            break;
        }
    }
    // SIGKILL: no destructor runs; only the watchdogs can clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let (redis_port, pg_port) = ports.expect("the child printed its ports");
    assert!(refuses_connections(redis_port, Duration::from_secs(10)));
    assert!(refuses_connections(pg_port, Duration::from_secs(10)));
    assert_eq!(
        processes_matching(&format!("redis-server 127.0.0.1:{redis_port}")),
        ""
    );
    assert_eq!(processes_matching(&postmaster_pattern(pg_port)), "");
}
