//! A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every
//! request (headers, body, when it came) and answers from a script of status codes,
//! optionally after a delay, noting if two requests with one `webhook-id` overlapped.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::sync::Notify;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
    pub at: Instant,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// The payload's `type`.
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Status codes to answer, in order; then `otherwise`.
    script: Mutex<VecDeque<u16>>,
    otherwise: AtomicU16,
    delay: Mutex<Duration>,
    in_flight: Mutex<HashMap<String, usize>>,
    overlapped: AtomicBool,
    arrived: Notify,
}

/// A running receiver; stopped when dropped.
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    {
        let mut in_flight = shared.in_flight.lock().unwrap();
        let count = in_flight.entry(id.clone()).or_default();
        *count += 1;
        if *count > 1 {
            shared.overlapped.store(true, Ordering::SeqCst);
        }
    }
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    *shared.in_flight.lock().unwrap().get_mut(&id).unwrap() -= 1;
    shared.received.lock().unwrap().push(Received {
        id,
        timestamp: header("webhook-timestamp").parse().unwrap_or(-1),
        signature: header("webhook-signature"),
        body: String::from_utf8(body.to_vec()).unwrap(),
        at: Instant::now(),
    });
    shared.arrived.notify_waiters();
    let status = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| shared.otherwise.load(Ordering::SeqCst));
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        shared.otherwise.store(200, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// Answers these status codes first, in order, then `otherwise`.
    pub fn answer(&self, script: &[u16], otherwise: u16) {
        *self.shared.script.lock().unwrap() = script.iter().copied().collect();
        self.shared.otherwise.store(otherwise, Ordering::SeqCst);
    }

    /// Holds every request this long before answering.
    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Whether two requests with one `webhook-id` were ever in flight at once.
    pub fn overlapped(&self) -> bool {
        self.shared.overlapped.load(Ordering::SeqCst)
    }

    /// Waits until a request is being answered (at most `limit`): `false` if none came.
    pub async fn wait_in_flight(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self
                .shared
                .in_flight
                .lock()
                .unwrap()
                .values()
                .any(|n| *n > 0)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have come (at most `limit`), and returns them all.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let arrived = self.shared.arrived.notified();
            let received = self.received();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), arrived).await;
        }
    }
}
