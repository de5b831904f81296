//! Local stand-ins for Alertmanager's receivers, for the end-to-end alert test
//! (tests/ops/alerts/): an HTTP sink (a small axum server) that answers as Discord's webhook
//! (204) and PagerDuty's Events API v2 (202) do, and an SMTP sink that takes mail without TLS or
//! AUTH, as a smarthost behind `require_tls: false` must. Both record everything they are sent,
//! stamped with the instant it arrived, and let a test wait (with a timeout) for a message that
//! matches.
//!
//! The SMTP sink stays hand-written: no crate the project keeps serves SMTP, and the embeddable
//! SMTP servers on crates.io (mailin-embedded, mogimail) are small single-maintainer crates
//! that would replace a short state machine whose every reply the sink's own test pins (EHLO
//! first, only 8BITMIME offered, no STARTTLS or AUTH, RSET, dot-unstuffing).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

mod http;
mod smtp;

pub use http::{HttpRequest, HttpSink};
pub use smtp::{Mail, SmtpSink};

/// How long an SMTP connection may sit idle before its thread gives up on it (Go's clients keep
/// idle connections for 90 s; a new one is opened when this side has closed).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The name this sink gives itself in SMTP replies.
const SMTP_DOMAIN: &str = "smtp-sink.test";

/// What a sink has received, in arrival order; waiters wake on every arrival.
struct Inbox<T> {
    items: Mutex<Vec<T>>,
    arrived: Condvar,
}

impl<T: Clone> Inbox<T> {
    fn new() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        }
    }

    fn push(&self, item: T) {
        self.items.lock().unwrap().push(item);
        self.arrived.notify_all();
    }

    fn all(&self) -> Vec<T> {
        self.items.lock().unwrap().clone()
    }

    /// The first item (already received or arriving within `within`) that `matches`.
    fn wait_for(&self, within: Duration, matches: impl Fn(&T) -> bool) -> Option<T> {
        let deadline = Instant::now() + within;
        let mut items = self.items.lock().unwrap();
        loop {
            if let Some(found) = items.iter().find(|item| matches(item)) {
                return Some(found.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            items = self.arrived.wait_timeout(items, left).unwrap().0;
        }
    }
}

/// A listener on 127.0.0.1:0 whose accept loop hands each connection to its own thread, and
/// stops when dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(name: &str, handle: impl Fn(TcpStream) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a sink");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let stopped = stop.clone();
        thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let handle = handle.clone();
                    thread::spawn(move || handle(stream));
                }
            })
            .expect("spawn the accept thread");
        Self { addr, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}
