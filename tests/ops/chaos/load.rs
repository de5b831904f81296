//! The steady load of a chaos run: threads following links (GET, a 302 expected) and
//! threads shortening URLs (POST, a 201 expected) through the public entry, each answer
//! recorded with its time, status and latency, so that no response goes uncounted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::Client;

/// How many threads of each kind, and the pause between two requests of one thread.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub redirect_threads: usize,
    pub redirect_pause: Duration,
    pub create_threads: usize,
    pub create_pause: Duration,
}

impl Shape {
    /// About 400 redirects and 40 creates a second on this machine: well under Nginx's
    /// per-IP limit (1000 r/s) and the per-key create quota of even one replica (50/s).
    pub const STEADY: Self = Self {
        redirect_threads: 4,
        redirect_pause: Duration::from_millis(8),
        create_threads: 2,
        create_pause: Duration::from_millis(40),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Redirect,
    Create,
}

impl Kind {
    pub fn method(self) -> &'static str {
        match self {
            Self::Redirect => "GET",
            Self::Create => "POST",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Self::Redirect => 302,
            Self::Create => 201,
        }
    }
}

/// One answer (or its absence).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds from the start of the load to when the request was sent.
    pub at: f64,
    pub kind: Kind,
    /// `None`: no HTTP answer (connection refused or reset, client timeout).
    pub status: Option<u16>,
    pub latency: Duration,
}

impl Sample {
    pub fn failed(&self) -> bool {
        self.status != Some(self.kind.expected())
    }
}

/// The load while it runs.
pub struct Load {
    started: Instant,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Sample>>>,
}

/// A request may take this long before the client gives up: past Nginx's own read
/// timeout (30 s), so that whatever Nginx answers is what gets counted.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);

impl Load {
    /// Starts the threads against `entry`; redirects cycle through `codes`.
    pub fn start(entry: SocketAddr, codes: &[String], shape: Shape) -> Self {
        assert!(!codes.is_empty(), "a load needs links to follow");
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let codes: Arc<Vec<String>> = Arc::new(codes.to_vec());
        let mut workers = Vec::new();
        for t in 0..shape.redirect_threads {
            let (stop, codes) = (stop.clone(), codes.clone());
            workers.push(thread::spawn(move || {
                let client = Client::with_timeout(entry, CLIENT_TIMEOUT);
                let mut samples = Vec::new();
                let mut n = t;
                while !stop.load(Ordering::SeqCst) {
                    let path = format!("/{}", codes[n % codes.len()]);
                    samples.push(send(&client, started, Kind::Redirect, &path, None));
                    n += shape.redirect_threads;
                    thread::sleep(shape.redirect_pause);
                }
                samples
            }));
        }
        for t in 0..shape.create_threads {
            let stop = stop.clone();
            workers.push(thread::spawn(move || {
                let client = Client::with_timeout(entry, CLIENT_TIMEOUT).with_stack_key();
                let mut samples = Vec::new();
                let mut n = 0_u64;
                while !stop.load(Ordering::SeqCst) {
                    let body = format!(r#"{{"url": "https://example.com/chaos/{t}/{n}"}}"#);
                    samples.push(send(&client, started, Kind::Create, "/urls", Some(&body)));
                    n += 1;
                    thread::sleep(shape.create_pause);
                }
                samples
            }));
        }
        Self {
            started,
            stop,
            workers,
        }
    }

    /// Seconds since the load started, to mark where a fault begins and ends.
    pub fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Stops every thread (each after its request in flight) and returns every sample.
    pub fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        let mut samples: Vec<Sample> = self
            .workers
            .into_iter()
            .flat_map(|w| w.join().expect("a load thread"))
            .collect();
        samples.sort_by(|a, b| a.at.total_cmp(&b.at));
        samples
    }
}

fn send(client: &Client, started: Instant, kind: Kind, path: &str, body: Option<&str>) -> Sample {
    let at = started.elapsed();
    let status = client
        .request(kind.method(), path, body)
        .ok()
        .map(|r| r.status);
    Sample {
        at: at.as_secs_f64(),
        kind,
        status,
        latency: started.elapsed() - at,
    }
}
