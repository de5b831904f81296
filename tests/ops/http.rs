//! The ops suites' HTTP client (reqwest's blocking client, for their thread-based tests):
//! keep-alive connections to one address on 127.0.0.1, and a test sees exactly what the
//! server answered: no redirect followed, no retry, no proxy.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::blocking;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

/// Requests to one address, over a kept-alive connection (opened again when the server closed
/// it); at most 5 s to connect and 10 s for a whole exchange.
pub struct Client {
    base: String,
    inner: blocking::Client,
    bearer: Option<String>,
}

/// The API key every native stack of these suites runs with (`API_KEYS`).
pub const STACK_API_KEY: &str = "ops-suite-stack-key-0123456789";

/// A whole response: status, headers, body.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self::with_timeout(addr, Duration::from_secs(10))
    }

    /// As [`Client::new`], with `timeout` for a whole exchange instead of 10 s.
    pub fn with_timeout(addr: SocketAddr, timeout: Duration) -> Self {
        // The workspace's reqwest has rustls without a provider (the webhook client
        // brings its own): this one, plain HTTP only, is given ring's as the default.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let inner = blocking::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .build()
            .expect("an HTTP client");
        Self {
            base: format!("http://{addr}"),
            inner,
            bearer: None,
        }
    }

    /// A client of the stack's API: every request carries [`STACK_API_KEY`].
    pub fn for_stack(addr: SocketAddr) -> Self {
        Self::new(addr).with_stack_key()
    }

    /// This client, with every request carrying [`STACK_API_KEY`].
    pub fn with_stack_key(self) -> Self {
        Self {
            bearer: Some(format!("Bearer {STACK_API_KEY}")),
            ..self
        }
    }

    /// `METHOD path`, with a JSON body when given.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> reqwest::Result<Response> {
        let body = body.map(|json| ("application/json", json.as_bytes().to_vec()));
        self.send(method, path, body)
    }

    /// `METHOD path` with `body` as `content_type` (a multipart upload, or bytes no JSON
    /// parser should get to see).
    pub fn request_bytes(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Result<Response> {
        self.send(method, path, Some((content_type, body)))
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> reqwest::Result<Response> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.inner.request(method, format!("{}{path}", self.base));
        if let Some(bearer) = &self.bearer {
            request = request.header(reqwest::header::AUTHORIZATION, bearer);
        }
        if let Some((content_type, body)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let response = request.send()?;
        Ok(Response {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes()?.to_vec(),
        })
    }
}
