//! A database that stops answering without closing its connections (a partition, or a
//! host that froze): nothing on the client side bounds a query then (the server's
//! statement_timeout cannot reach it), so `REQUEST_TIMEOUT_MS` does, with a JSON 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A TCP proxy to Postgres that, once cut, passes nothing either way and closes nothing.
struct StallingProxy {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl StallingProxy {
    async fn start(upstream: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream.clone()).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, flag.clone()));
                tokio::spawn(pump(server_read, client_write, flag.clone()));
            }
        });
        Self { port, cut }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    let mut buffer = vec![0; 16 * 1024];
    while let Ok(read) = from.read(&mut buffer).await {
        if read == 0 {
            return;
        }
        while cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[sqlx::test]
async fn requests_stuck_on_a_silent_database_get_a_json_503_at_the_request_timeout(pool: PgPool) {
    let options = pool.connect_options();
    let direct: &PgConnectOptions = options.as_ref();
    let proxy = StallingProxy::start((direct.get_host().to_owned(), direct.get_port())).await;
    let through_proxy = PgPoolOptions::new()
        .max_connections(4)
        // Longer than the request timeout: the request's own bound must be what ends it.
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(direct.clone().port(proxy.port))
        .await
        .unwrap();
    let app = start_app(
        through_proxy,
        AppSettings {
            request_timeout: Duration::from_millis(300),
            ..AppSettings::default()
        },
    )
    .await;
    let link = cached_link(&app, "https://example.com/partition").await;
    let path = format!("/urls/{}", link.id);
    app.get(&path).await.expect(StatusCode::OK);
    let code = link.short_code.as_str();

    proxy.cut();
    // The guard is against a hang; the answer itself comes at the 300 ms bound.
    let (response, took) = tokio::time::timeout(
        Duration::from_secs(20),
        timed(&app, Method::GET, &format!("{path}/stats"), None),
    )
    .await
    .expect("the request ended by itself");
    let error = response.expect_error(StatusCode::SERVICE_UNAVAILABLE);
    assert!(error.error.contains("300 ms"), "{error} after {took:?}");
    // A cached redirect needs no database: it still answers.
    let redirect = get_now(&app, &format!("/{code}")).await;
    assert_eq!(redirect.status, StatusCode::FOUND, "{:?}", redirect.body);
}
