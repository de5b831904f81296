//! The HTTP/1.1 accept loop, which keeps a task per connection so that shutdown can wait
//! for in-flight requests up to a deadline and then cut the rest (`axum::serve` spawns
//! connections it can no longer reach once its future is dropped).

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// hyper's header-read timeout, which also closes a keep-alive connection left idle this
/// long. Longer than the upstream keep-alive of Nginx and ingress-nginx (60 s by default),
/// so the proxy always closes an idle connection first: a replica closing one as the
/// proxy reuses it would fail that request (a POST with a 502). It still reaps
/// connections that bypass the proxy and stall.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(75);

/// The connections still open when the listener closed; each has been asked to finish
/// its current request and close.
pub struct OpenConnections {
    tasks: JoinSet<()>,
}

/// Accepts and serves connections on `listener` until `closed` turns true, then stops
/// accepting (the listener is dropped) and tells every open connection to close after
/// its in-flight request.
pub async fn accept_until_closed(
    listener: TcpListener,
    router: Router,
    mut closed: watch::Receiver<bool>,
) -> OpenConnections {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = closing(&mut closed) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tasks.spawn(serve_connection(stream, router.clone(), closed.clone()));
                }
                // Out of file descriptors or a connection reset before accept: as
                // axum::serve does, wait a moment rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    OpenConnections { tasks }
}

impl OpenConnections {
    /// How many connections are still open.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether every connection has closed.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits until every connection has closed or `deadline` passes; then aborts the
    /// rest (their handlers are dropped mid-request) and returns how many were cut.
    pub async fn finish_by(mut self, deadline: Instant) -> usize {
        let tasks = &mut self.tasks;
        let all_closed = async move { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline, all_closed).await.is_ok() {
            return 0;
        }
        let cut = self.tasks.len();
        self.tasks.shutdown().await;
        cut
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut closed: watch::Receiver<bool>) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router))
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing(&mut closed) => {
            // Finish the request in flight (an idle connection closes at once).
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Resolves once `closed` turns true (or its sender is gone).
async fn closing(closed: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's awaits.
    let _ = closed.wait_for(|closed| *closed).await.map(|_| ());
}
