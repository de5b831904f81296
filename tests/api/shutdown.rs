//! Graceful shutdown of the accept loop (`server::connections`): a request in flight when
//! the listener closes gets its answer; one still running at the deadline is cut off and
//! its handler dropped; a connection still in the accept queue is served, not reset; an
//! idle keep-alive connection still takes the request a proxy may already have sent on
//! it, answered with `Connection: close`, and closes after the linger. And `/metrics` on
//! its own listener.
//!
//! The cut-off test is the one `axum::serve` failed: dropping its future at the end of
//! the grace period left every connection task running, so handlers went on while the
//! click queue and the pool were closed under them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use shortener_server::connections::{OpenConnections, accept_until_closed};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::helpers::process::{free_port, serve, status_of};

/// Sets its flag when dropped: tells whether a handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Server {
    port: u16,
    close: watch::Sender<bool>,
    accepting: tokio::task::JoinHandle<OpenConnections>,
}

/// The idle linger of the tests that do not look at it.
const LINGER: Duration = Duration::from_secs(1);

async fn start(router: Router) -> Server {
    start_lingering(router, LINGER).await
}

async fn start_lingering(router: Router, linger: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (close, closed) = watch::channel(false);
    let accepting = tokio::spawn(accept_until_closed(listener, router, closed, linger));
    Server {
        port,
        close,
        accepting,
    }
}

impl Server {
    /// Closes the listener and returns the connections still open.
    async fn close(self) -> OpenConnections {
        self.close.send(true).unwrap();
        self.accepting.await.unwrap()
    }
}

/// Sends `GET path` on a new connection (keep-alive) and returns it once the request is out.
async fn send_get(port: u16, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_request_in_flight_at_close_gets_its_answer_then_the_connection_closes() {
    let (entered_tx, mut entered) = watch::channel(false);
    let router = Router::new().route(
        "/slow",
        get(move || {
            let entered_tx = entered_tx.clone();
            async move {
                entered_tx.send_replace(true);
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }),
    );
    let server = start(router).await;
    let mut client = send_get(server.port, "/slow").await;
    entered.wait_for(|entered| *entered).await.unwrap();
    let open = server.close().await;
    assert_eq!(open.len(), 1);
    let cut = open
        .finish_by(Instant::now() + Duration::from_secs(10))
        .await;
    assert_eq!(cut, 0, "the request finished within the grace");
    let answer = read_to_close(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
}

#[tokio::test]
async fn a_request_still_running_at_the_deadline_is_cut_and_its_handler_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (entered_tx, mut entered) = watch::channel(false);
    let handler_flag = dropped.clone();
    let router = Router::new().route(
        "/stuck",
        get(move || {
            let flag = DropFlag(handler_flag.clone());
            let entered_tx = entered_tx.clone();
            async move {
                let _flag = flag;
                entered_tx.send_replace(true);
                std::future::pending::<()>().await;
            }
        }),
    );
    let server = start(router).await;
    let mut client = send_get(server.port, "/stuck").await;
    entered.wait_for(|entered| *entered).await.unwrap();
    let open = server.close().await;
    let cut = open
        .finish_by(Instant::now() + Duration::from_millis(200))
        .await;
    assert_eq!(cut, 1);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the handler no longer runs once finish_by has returned"
    );
    assert_eq!(read_to_close(&mut client).await, "", "no answer, then EOF");
}

/// Sends `GET path` on `stream` and reads one answer (a short one, in one read or more).
async fn get_on(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0; 512];
    while !answer.ends_with(b"hi") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "EOF before the answer: {answer:?}");
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_takes_one_more_request_after_close_and_says_it_closes() {
    let router = Router::new().route("/", get(|| async { "hi" }));
    let server = start_lingering(router, Duration::from_secs(60)).await;
    let mut client = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let before = get_on(&mut client, "/").await;
    assert!(
        !before.to_lowercase().contains("connection: close"),
        "{before}"
    );
    let open = server.close().await;
    assert_eq!(open.len(), 1);
    // Time for the connection's task to see the close (it had closed at once before).
    tokio::time::sleep(Duration::from_millis(300)).await;
    // What Nginx does when it reuses a cached connection as the replica starts leaving:
    // closing it now would fail this request, and a POST would not be retried.
    let after = get_on(&mut client, "/").await;
    assert!(after.starts_with("HTTP/1.1 200"), "{after}");
    assert!(
        after.to_lowercase().contains("connection: close"),
        "{after}"
    );
    assert_eq!(
        read_to_close(&mut client).await,
        "",
        "closed after that answer"
    );
    let cut = open
        .finish_by(Instant::now() + Duration::from_secs(30))
        .await;
    assert_eq!(cut, 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_left_unused_closes_after_the_linger() {
    let router = Router::new().route("/", get(|| async { "hi" }));
    let server = start_lingering(router, Duration::from_millis(100)).await;
    let mut client = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    get_on(&mut client, "/").await;
    let open = server.close().await;
    let cut = open
        .finish_by(Instant::now() + Duration::from_secs(30))
        .await;
    assert_eq!(cut, 0, "closed by the linger, not cut at the deadline");
    assert_eq!(read_to_close(&mut client).await, "");
}

#[tokio::test]
async fn a_connection_still_in_the_accept_queue_at_close_is_served_not_reset() {
    let router = Router::new().route("/", get(|| async { "hi" }));
    let server = start(router).await;
    // The kernel completes the handshake on its own; on this single-threaded runtime
    // the accept loop cannot run until the test awaits, so when it does, the close is
    // already signalled and the connection is still in the queue, its request written.
    let mut queued = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::io::Write::write_all(&mut queued, b"GET / HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let open = server.close().await;
    assert_eq!(open.len(), 1, "the queued connection is being served");
    queued.set_nonblocking(true).unwrap();
    let mut client = TcpStream::from_std(queued).unwrap();
    let answer = read_to_close(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hi"), "{answer}");
    assert_eq!(
        open.finish_by(Instant::now() + Duration::from_secs(30))
            .await,
        0
    );
}

#[sqlx::test]
async fn metrics_on_their_own_listener_leave_the_public_port(pool: PgPool) {
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let (mut server, port) = serve(&pool, &[("METRICS_LISTEN_ADDR", metrics_addr.as_str())]).await;
    assert_eq!(status_of(port, "/metrics").await, Some(404));
    assert_eq!(status_of(metrics_port, "/metrics").await, Some(200));
    assert_eq!(status_of(metrics_port, "/ready").await, Some(404));
    assert_eq!(status_of(port, "/ready").await, Some(200));
    server.sigterm();
    let status = server.exit_within(Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}: {}", server.log());
    assert_eq!(status_of(metrics_port, "/metrics").await, None);
}
