//! The HTTP/1.1 accept loop, which keeps a task per connection so that shutdown can wait
//! for in-flight requests up to a deadline and then cut the rest (`axum::serve` spawns
//! connections it can no longer reach once its future is dropped).
//!
//! Closing without failing a request the proxy already sent. Nginx never retries a POST
//! it has written to a connection (a link must not be created twice), so a replica must
//! not drop a connection under a request in flight, in either of two ways:
//! - an accepted-by-the-kernel connection still in the accept queue: dropping the
//!   listener resets it after Nginx wrote its request on it. The queue is emptied and
//!   served first ([`accept_until_closed`]);
//! - an idle keep-alive connection Nginx is about to reuse: closing it races with the
//!   request on its way. Open connections linger ([`IDLE_LINGER`] in the server) instead, and every
//!   answer from the close on says `Connection: close`, so Nginx stops reusing them by
//!   itself; its next new connection is refused, which it does retry on another replica
//!   and which takes this one out of its rotation (max_fails=1).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::HeaderValue;
use axum::http::Request;
use axum::http::header::CONNECTION;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::util::{MapRequest, MapResponse};

/// hyper's header-read timeout, which also closes a keep-alive connection left idle this
/// long. Longer than the upstream keep-alive of Nginx and ingress-nginx (60 s by default),
/// so the proxy always closes an idle connection first: a replica closing one as the
/// proxy reuses it would fail that request (a POST with a 502). It still reaps
/// connections that bypass the proxy and stall.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(75);

/// How long a connection stays open after the listener closed while no request is in
/// flight on it: time for the proxy to send what it already chose this replica for and
/// to notice (from `Connection: close` and refused connects) that the replica is leaving.
/// Well under Nginx's fail_timeout (5 s), so the replica is still out of the rotation
/// when the last idle connections close. The shutdown deadline still bounds it.
pub const IDLE_LINGER: Duration = Duration::from_secs(1);

/// The connections still open when the listener closed; each has been asked to finish
/// its current request and close.
pub struct OpenConnections {
    tasks: JoinSet<()>,
}

/// Accepts and serves connections on `listener` until `closed` turns true, then serves
/// the connections still in the accept queue, stops accepting (the listener is dropped)
/// and lets every open connection finish, an idle one lingering for `linger` (see the
/// module's documentation).
pub async fn accept_until_closed(
    listener: TcpListener,
    router: Router,
    mut closed: watch::Receiver<bool>,
    linger: Duration,
) -> OpenConnections {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = closing(&mut closed) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tasks.spawn(serve_connection(stream, peer, router.clone(), closed.clone(), linger));
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
    for (stream, peer) in take_accept_queue(listener) {
        tasks.spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            closed.clone(),
            linger,
        ));
    }
    OpenConnections { tasks }
}

/// Accepts, without waiting, every connection the kernel has already completed, and
/// closes the listener. Asked of the socket itself: the runtime's readiness flag may not
/// have seen the latest arrivals yet.
fn take_accept_queue(listener: TcpListener) -> Vec<(TcpStream, SocketAddr)> {
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "cannot empty the accept queue");
            return Vec::new();
        }
    };
    let mut queued = Vec::new();
    loop {
        // into_std leaves the socket non-blocking, and so are the streams it accepts.
        match listener.accept() {
            Ok((stream, peer)) => match stream
                .set_nonblocking(true)
                .and_then(|()| TcpStream::from_std(stream))
            {
                Ok(stream) => queued.push((stream, peer)),
                Err(error) => tracing::warn!(%error, "cannot serve a queued connection"),
            },
            Err(error) if error.kind() == ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(%error, "accept failed while emptying the accept queue");
                break;
            }
        }
    }
    if !queued.is_empty() {
        tracing::debug!(
            connections = queued.len(),
            "served the accept queue at close"
        );
    }
    queued
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

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    mut closed: watch::Receiver<bool>,
    linger: Duration,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let leaving = closed.clone();
    // The peer on every request, as axum's `ConnectInfo` (the redirect reads the client's
    // address from it, through TRUSTED_PROXIES).
    let router = MapRequest::new(router, move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let service = MapResponse::new(router, move |response| {
        close_once_leaving(response, &leaving)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing(&mut closed) => {
            // A request in flight, or one that arrives within the linger, is answered
            // with `Connection: close` and hyper closes the connection after it.
            match tokio::time::timeout(linger, connection.as_mut()).await {
                Ok(result) => result,
                Err(_lingered) => {
                    // Finish the request in flight; an idle connection closes at once.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Marks `response` as the connection's last once the listener has closed, so the client
/// (the proxy) does not send another request on it.
fn close_once_leaving(mut response: Response, closed: &watch::Receiver<bool>) -> Response {
    if *closed.borrow() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Resolves once `closed` turns true (or its sender is gone).
async fn closing(closed: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's awaits.
    let _ = closed.wait_for(|closed| *closed).await.map(|_| ());
}
