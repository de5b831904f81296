//! How many imports run at once: one per API key and two per replica. Past either the
//! answer is a JSON 429 (the key) or 503 (the replica) with `Retry-After`, given before
//! the body is read, and a slot comes back when its import ends, however it ends.

use super::*;
use crate::helpers::FileForm;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, header};
use shortener_domain::ApiKeys;
use shortener_server::replica::AppSettings;
use shortener_service::imports::{self, IMPORT_RETRY_AFTER_SECS, MAX_IMPORTS_PER_REPLICA};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Three keys with every scope (`API_KEYS`).
const KEYS: [&str; 3] = [
    "import-key-one-0123456789",
    "import-key-two-0123456789",
    "import-key-three-0123456789",
];

fn app_with_three_keys(pool: PgPool) -> TestApp {
    let settings = AppSettings {
        api_keys: ApiKeys::from_config(Some(&KEYS.join(",")), None).unwrap(),
        ..AppSettings::default()
    };
    TestApp::with_settings(pool, settings)
}

fn bulk_request(key: &str, form: &FileForm, body: Body) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/users/bulk")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, &form.content_type)
        .body(body)
        .unwrap()
}

/// An import under way whose upload the test sends on by hand.
struct OpenUpload {
    form: FileForm,
    body: mpsc::Sender<Result<Bytes, std::io::Error>>,
    answer: JoinHandle<TestResponse>,
}

impl OpenUpload {
    /// Starts an upload by `key` of a header and nothing more yet, and waits until its
    /// import holds a slot (`running` of them in all).
    async fn start(app: &TestApp, key: &str, running: usize) -> Self {
        let form = FileForm::new("file");
        let (body, chunks) = mpsc::channel(4);
        let stream = futures_util::stream::unfold(chunks, |mut chunks| async move {
            chunks.recv().await.map(|chunk| (chunk, chunks))
        });
        let request = bulk_request(key, &form, Body::from_stream(stream));
        for piece in [form.head.clone(), b"username,email\n".to_vec()] {
            body.send(Ok(Bytes::from(piece))).await.unwrap();
        }
        let app_for_request = app.clone();
        let answer = tokio::spawn(async move { app_for_request.send_now(request).await });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while imports::running(&app.state) < running {
            assert!(
                std::time::Instant::now() < deadline,
                "the import never took its slot"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Self { form, body, answer }
    }

    /// Sends `rows` and the end of the form; the answer.
    async fn finish(self, rows: &str) -> TestResponse {
        for piece in [rows.as_bytes().to_vec(), self.form.tail.clone()] {
            self.body.send(Ok(Bytes::from(piece))).await.unwrap();
        }
        drop(self.body);
        self.answer.await.unwrap()
    }

    /// Cuts the upload off mid-file, as a client that goes away; the answer.
    async fn abandon(self) -> TestResponse {
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client gone");
        self.body.send(Err(cut)).await.unwrap();
        drop(self.body);
        self.answer.await.unwrap()
    }
}

async fn upload_as(app: &TestApp, key: &str, csv: &str) -> TestResponse {
    let form = FileForm::new("file");
    let body = Body::from(form.around(csv.as_bytes().to_vec()));
    app.send(bulk_request(key, &form, body)).await
}

#[track_caller]
fn assert_refused(response: &TestResponse, status: StatusCode, says: &str) {
    let error = response.expect_error(status);
    assert!(error.error.contains(says), "{error:?}");
    assert_eq!(
        response.header("retry-after"),
        Some(IMPORT_RETRY_AFTER_SECS.to_string().as_str())
    );
}

#[sqlx::test]
async fn a_second_import_by_a_key_is_429_and_one_past_the_replicas_two_is_503(pool: PgPool) {
    assert_eq!(
        MAX_IMPORTS_PER_REPLICA, 2,
        "this test fills the replica with two"
    );
    let app = app_with_three_keys(pool);
    let [one, two, three] = KEYS;
    let first = OpenUpload::start(&app, one, 1).await;

    let again = upload_as(&app, one, "username,email\nx,x@example.com\n").await;
    assert_refused(&again, StatusCode::TOO_MANY_REQUESTS, "this API key");

    let second = OpenUpload::start(&app, two, 2).await;
    let third = upload_as(&app, three, "username,email\nx,x@example.com\n").await;
    assert_refused(&third, StatusCode::SERVICE_UNAVAILABLE, "this replica");

    let report = report_of(&first.finish("ada,ada@example.com\n").await);
    assert_eq!(report, clean_report(1, 0));
    // The key's slot is back: its next import runs.
    let next = upload_as(&app, one, "username,email\nbob,bob@example.com\n").await;
    assert_eq!(report_of(&next), clean_report(1, 0));

    // An import whose client goes away gives its slot back too.
    second.abandon().await.expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(imports::running(&app.state), 0);
    let last = upload_as(&app, three, "username,email\ncyd,cyd@example.com\n").await;
    assert_eq!(report_of(&last), clean_report(1, 0));
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 3, "the refused imports wrote nothing");
}
