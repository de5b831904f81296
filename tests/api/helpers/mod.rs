//! Shared test harness: the real router over a real per-test Postgres database
//! (from `#[sqlx::test]`), driven in-process, plus typed helpers per resource (`users`,
//! `urls`, `events`), the binary as a child process (`process`) and private Redis and
//! PostgreSQL servers (`servers`).

pub mod bodies;
mod clicks;
mod events;
pub mod process;
pub mod servers;
mod urls;
mod users;

pub use clicks::write_classified;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

use shortener_server::replica::{AppSettings, Replica};
use shortener_service::app::AppState;

/// The platform's real seed set, copied into the repository (`tests/fixtures/`).
pub fn platform_seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platform-set-a")
}

/// How many rows `table` holds.
pub async fn count_rows(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The tables (partitions included) with a row whose text holds `needle`: where a value
/// is still stored, whatever column or rollup holds it.
pub async fn tables_holding(pool: &PgPool, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut holding = Vec::new();
    for table in tables {
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM \"{table}\" t WHERE strpos(t::text, $1) > 0"
        ))
        .bind(needle)
        .fetch_one(pool)
        .await
        .unwrap();
        if rows > 0 {
            holding.push(table);
        }
    }
    holding
}

/// The application under test: the real [`Replica`] with its background tasks.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
    pub pool: PgPool,
    pub state: AppState,
    pub app: std::sync::Arc<Replica>,
}

/// A buffered response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON; panics with the raw body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "expected a JSON body, got {:?} ({})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body on mismatch; returns the JSON body (or Null).
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// The body as `T`; panics with the raw body when it does not deserialise.
    #[track_caller]
    pub fn body<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a {} body ({error}), got {:?} ({})",
                std::any::type_name::<T>(),
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// Asserts the status, showing the body on mismatch; returns the body as `T`.
    #[track_caller]
    pub fn expect_body<T: DeserializeOwned>(&self, status: StatusCode) -> T {
        self.expect(status);
        self.body()
    }

    /// Asserts a JSON error response with this status; returns the error body.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode) -> bodies::ErrorBody {
        self.expect_body(status)
    }
}

impl TestApp {
    /// The app over a migrated per-test database, without Redis.
    pub fn new(pool: PgPool) -> Self {
        Self::with_settings(pool, AppSettings::default())
    }

    /// The app with the given settings (e.g. a Redis tier).
    pub fn with_settings(pool: PgPool, settings: AppSettings) -> Self {
        let app = Replica::start(pool.clone(), settings).expect("valid settings");
        Self {
            router: app.router(),
            state: app.state.clone(),
            pool,
            app: std::sync::Arc::new(app),
        }
    }

    /// The replica's click queue.
    pub fn clicks(&self) -> &shortener_clicks::ClickQueue {
        self.app.clicks()
    }

    /// The replica's redirect cache.
    pub fn cache(&self) -> &shortener_cache::LinkCache {
        self.app.cache()
    }

    /// The replica's database handle.
    pub fn db(&self) -> &shortener_store::Db {
        self.app.db()
    }

    /// Sends a request without first flushing queued clicks.
    pub async fn send_now(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Sends any request, after every click queued so far is written: the contract's
    /// "a click is visible" without timing in these tests (the pipeline's own latency is
    /// tested in tests/api/clicks.rs).
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        self.clicks().flush().await;
        self.send_now(request).await
    }

    /// A request with a raw body and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.raw(Method::GET, path, None, Body::empty()).await
    }

    pub async fn head(&self, path: &str) -> TestResponse {
        self.raw(Method::HEAD, path, None, Body::empty()).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.raw(Method::DELETE, path, None, Body::empty()).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> TestResponse {
        self.raw(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: Value) -> TestResponse {
        self.raw(
            Method::PUT,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    /// `POST path` with a multipart form holding one file field.
    pub async fn post_file(
        &self,
        path: &str,
        field: &str,
        contents: impl Into<Vec<u8>>,
    ) -> TestResponse {
        let form = FileForm::new(field);
        let body = form.around(contents.into());
        self.raw(Method::POST, path, Some(&form.content_type), body)
            .await
    }

    /// Waits until the database clock, which stamps `created_at` and `updated_at`, has moved
    /// past `timestamp` (an API timestamp, second precision), so that a write from now on
    /// stamps a later second. Panics after 5 s.
    pub async fn wait_for_the_clock_to_pass(&self, timestamp: &Value) {
        let timestamp = timestamp.as_str().expect("an API timestamp");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now: String = sqlx::query_scalar(
                r#"SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"#,
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if now.as_str() > timestamp {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the database clock stayed at {now}, not past {timestamp}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A `multipart/form-data` body of one file field, in the pieces a streamed upload sends
/// apart: what comes before the file's contents and what comes after.
pub struct FileForm {
    pub content_type: String,
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl FileForm {
    pub fn new(field: &str) -> Self {
        let boundary = "shortener-test-boundary";
        Self {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            head: format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"upload.csv\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .into_bytes(),
            tail: format!("\r\n--{boundary}--\r\n").into_bytes(),
        }
    }

    /// The whole body with `contents` as the file.
    pub fn around(&self, contents: Vec<u8>) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.head.len() + contents.len() + self.tail.len());
        body.extend_from_slice(&self.head);
        body.extend(contents);
        body.extend_from_slice(&self.tail);
        body
    }
}

/// The `DATABASE_URL` of the database behind `pool`, for tests that run the binary.
pub fn database_url_of(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL must be set for tests");
    let mut url = url::Url::parse(&base).unwrap();
    let database = pool.connect_options().get_database().unwrap().to_owned();
    url.set_path(&database);
    url.to_string()
}
