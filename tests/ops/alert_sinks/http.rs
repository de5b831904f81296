//! The HTTP sink: a small axum server answering as Discord's webhook and PagerDuty's Events
//! API v2 do.

use super::*;

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
