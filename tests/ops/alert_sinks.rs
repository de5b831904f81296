//! Local stand-ins for Alertmanager's receivers, for the end-to-end alert test
//! (tests/ops/alerts.rs): an HTTP sink (a small axum server) that answers as Discord's webhook
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

/// One request the HTTP sink answered.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub received: Instant,
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The body as JSON, `Null` when it is not JSON.
    pub json: Value,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP server (axum, on a runtime of its own) that records every request. `POST
/// /pagerduty...` is answered as PagerDuty's Events API v2 answers an accepted event (202 with
/// `status`, `message`, `dedup_key`); any other POST as Discord answers a webhook without
/// `?wait=true` (204); other methods 405. Stops when dropped.
pub struct HttpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox<HttpRequest>>,
    /// Serves the sink; dropping it stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl HttpSink {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("http-sink")
            .enable_all()
            .build()
            .expect("a runtime for the HTTP sink");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind a sink");
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Inbox::new());
        let router = Router::new().fallback(record).with_state(inbox.clone());
        runtime.spawn(async move {
            // An error ends the sink; the test then sees no requests arrive.
            let _ = axum::serve(listener, router).await;
        });
        Self {
            addr,
            inbox,
            _runtime: runtime,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.inbox.all()
    }

    /// The first request (received already or within `within`) that `matches`.
    pub fn wait_for(
        &self,
        within: Duration,
        matches: impl Fn(&HttpRequest) -> bool,
    ) -> Option<HttpRequest> {
        self.inbox.wait_for(within, matches)
    }
}

/// Records the request, then answers it as the receiver it addresses would.
async fn record(
    State(inbox): State<Arc<Inbox<HttpRequest>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = HttpRequest {
        received: Instant::now(),
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), ToString::to_string),
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
    };
    let answer = answer_http(&request);
    // Recorded before the answer: once a client sees its 2xx, a test sees the request.
    inbox.push(request);
    answer
}

/// The answer to `request`: a JSON body, except for a 204.
fn answer_http(request: &HttpRequest) -> Response {
    if request.method != "POST" {
        return (StatusCode::METHOD_NOT_ALLOWED, Json(json!({}))).into_response();
    }
    if request.path.starts_with("/pagerduty") {
        let dedup_key = request.json["dedup_key"]
            .as_str()
            .filter(|key| !key.is_empty())
            .map_or_else(
                || format!("sink-{}", request.received.elapsed().as_nanos()),
                str::to_owned,
            );
        let body = json!({
            "status": "success",
            "message": "Event processed",
            "dedup_key": dedup_key,
        });
        return (StatusCode::ACCEPTED, Json(body)).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// One line without its CRLF (or LF); `None` at end of stream.
fn read_text_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.ends_with(b"\n") {
        line.pop();
    }
    if line.ends_with(b"\r") {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-message",
    )
}

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub received: Instant,
    /// The name the client gave in EHLO/HELO.
    pub client: String,
    /// The reverse path of MAIL FROM.
    pub from: String,
    /// The forward paths of RCPT TO, in order.
    pub recipients: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, lines ending in CRLF.
    pub data: String,
}

impl Mail {
    /// The first header `name` of the message, folded lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, value)) = line.split_once(':')
                && n.trim().eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The body with quoted-printable soft line breaks and `=XX` escapes undone (what a reader
    /// of Alertmanager's mail sees), for searching.
    pub fn body_text(&self) -> String {
        let (_, body) = self.split();
        let body = body.replace("=\r\n", "");
        let bytes = body.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'=')
                .then(|| bytes.get(i + 1..i + 3))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = escaped {
                decoded.push(byte);
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&decoded).into_owned()
    }

    fn split(&self) -> (&str, &str) {
        self.data
            .split_once("\r\n\r\n")
            .unwrap_or((self.data.as_str(), ""))
    }
}

/// An SMTP server (RFC 5321, no TLS, no AUTH) that accepts every message: EHLO/HELO, MAIL FROM,
/// RCPT TO, DATA (dot-unstuffed, ended by CRLF.CRLF), RSET, NOOP, VRFY, QUIT. EHLO advertises
/// only 8BITMIME, so a client with `require_tls: false` sends in the clear and without AUTH.
pub struct SmtpSink {
    server: Server,
    inbox: Arc<Inbox<Mail>>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let inbox = Arc::new(Inbox::new());
        let recorder = inbox.clone();
        let server = Server::start("smtp-sink", move |stream| {
            let _ = serve_smtp(stream, &recorder);
        });
        Self { server, inbox }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Every message so far, in arrival order.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.all()
    }

    /// The first message (received already or within `within`) that `matches`.
    pub fn wait_for(&self, within: Duration, matches: impl Fn(&Mail) -> bool) -> Option<Mail> {
        self.inbox.wait_for(within, matches)
    }
}

fn serve_smtp(stream: TcpStream, inbox: &Inbox<Mail>) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut reply = |text: &str| -> io::Result<()> {
        out.write_all(text.as_bytes())?;
        out.write_all(b"\r\n")?;
        out.flush()
    };
    reply(&format!("220 {SMTP_DOMAIN} ESMTP sink ready"))?;
    let mut client: Option<String> = None;
    let mut from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_text_line(&mut reader)? else {
            return Ok(());
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let arg = arg.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if arg.is_empty() => reply("501 5.5.4 a domain is required")?,
            "EHLO" => {
                client = Some(arg.to_owned());
                (from, recipients) = (None, Vec::new());
                reply(&format!(
                    "250-{SMTP_DOMAIN} greets {arg}\r\n250-8BITMIME\r\n250 HELP"
                ))?;
            }
            "HELO" => {
                client = Some(arg.to_owned());
                (from, recipients) = (None, Vec::new());
                reply(&format!("250 {SMTP_DOMAIN}"))?;
            }
            "MAIL" if client.is_none() => reply("503 5.5.1 send EHLO or HELO first")?,
            "MAIL" if from.is_some() => reply("503 5.5.1 a transaction is already open")?,
            "MAIL" => match path_argument(arg, "FROM:") {
                Some(path) => {
                    from = Some(path);
                    reply("250 2.1.0 Ok")?;
                }
                None => reply("501 5.5.4 syntax: MAIL FROM:<address>")?,
            },
            "RCPT" if from.is_none() => reply("503 5.5.1 send MAIL first")?,
            "RCPT" => match path_argument(arg, "TO:").filter(|p| !p.is_empty()) {
                Some(path) => {
                    recipients.push(path);
                    reply("250 2.1.5 Ok")?;
                }
                None => reply("501 5.5.4 syntax: RCPT TO:<address>")?,
            },
            "DATA" if recipients.is_empty() => reply("503 5.5.1 send RCPT first")?,
            "DATA" => {
                reply("354 End data with <CR><LF>.<CR><LF>")?;
                let mut data = String::new();
                loop {
                    let line = read_text_line(&mut reader)?.ok_or_else(eof)?;
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                inbox.push(Mail {
                    received: Instant::now(),
                    client: client.clone().unwrap_or_default(),
                    from: from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                });
                reply("250 2.0.0 Ok: queued")?;
            }
            "RSET" => {
                (from, recipients) = (None, Vec::new());
                reply("250 2.0.0 Ok")?;
            }
            "NOOP" => reply("250 2.0.0 Ok")?,
            "VRFY" => reply("252 2.5.2 cannot verify, but will accept")?,
            "QUIT" => {
                reply(&format!("221 2.0.0 {SMTP_DOMAIN} closing"))?;
                return Ok(());
            }
            _ => reply("502 5.5.2 command not implemented")?,
        }
    }
}

/// The address in `FROM:<address> [params]` or `TO:<address> [params]` (keyword matched
/// without regard to case); `None` when the argument is not of that form.
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let rest = arg
        .get(..keyword.len())
        .filter(|k| k.eq_ignore_ascii_case(keyword))
        .map(|_| &arg[keyword.len()..])?;
    let (path, _params) = rest.trim_start().strip_prefix('<')?.split_once('>')?;
    Some(path.to_owned())
}
