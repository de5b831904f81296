//! A destination site for the tests: an HTTP server on 127.0.0.1 that answers every HEAD
//! and GET with the status it is told, counts them, and can be stopped (closing its
//! connections) and started again on the same port.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{Method, StatusCode};
use tokio::sync::oneshot;

#[derive(Default)]
struct Answers {
    get: AtomicU16,
    /// What a HEAD is answered (0: as a GET).
    head: AtomicU16,
    heads: AtomicUsize,
    gets: AtomicUsize,
}

/// A running site; stopped when dropped.
pub struct Site {
    pub port: u16,
    answers: Arc<Answers>,
    running: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl Site {
    /// A site on a free port answering 200.
    pub async fn start() -> Self {
        let mut site = Self {
            port: 0,
            answers: Arc::new(Answers::default()),
            running: None,
        };
        site.answer(200);
        site.listen().await;
        site
    }

    /// The URL of a page on it.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers every request with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.answers.get.store(status, Ordering::SeqCst);
    }

    /// Answers HEAD with `status` (GET keeps its answer).
    pub fn answer_head(&self, status: u16) {
        self.answers.head.store(status, Ordering::SeqCst);
    }

    /// HEAD and GET requests so far.
    pub fn requests(&self) -> (usize, usize) {
        (
            self.answers.heads.load(Ordering::SeqCst),
            self.answers.gets.load(Ordering::SeqCst),
        )
    }

    /// Stops listening and closes every connection: requests are refused.
    pub async fn stop(&mut self) {
        if let Some((stop, server)) = self.running.take() {
            let _ = stop.send(());
            let _ = server.await;
        }
    }

    /// Listens again (on the same port once it has one).
    pub async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(self.answers.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.running = Some((stop, server));
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some((_, server)) = self.running.take() {
            server.abort();
        }
    }
}

async fn answer(State(answers): State<Arc<Answers>>, method: Method) -> StatusCode {
    let status = if method == Method::HEAD {
        answers.heads.fetch_add(1, Ordering::SeqCst);
        match answers.head.load(Ordering::SeqCst) {
            0 => answers.get.load(Ordering::SeqCst),
            head => head,
        }
    } else {
        answers.gets.fetch_add(1, Ordering::SeqCst);
        answers.get.load(Ordering::SeqCst)
    };
    StatusCode::from_u16(status).unwrap()
}
