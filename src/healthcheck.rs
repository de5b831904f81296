//! `shortener healthcheck`: one HTTP GET with hyper's client, for images that ship no curl.

use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::HOST;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Succeeds when `url` answers with status 200 within `timeout`.
pub async fn check(url: &url::Url, timeout: Duration) -> anyhow::Result<()> {
    if url.scheme() != "http" {
        bail!("healthcheck supports only http:// URLs, got {url}");
    }
    let status = tokio::time::timeout(timeout, fetch_status(url))
        .await
        .with_context(|| format!("no answer from {url} within {timeout:?}"))??;
    if status != 200 {
        bail!("{url} answered {status}");
    }
    Ok(())
}

/// The status of `GET url` over one HTTP/1.1 connection.
async fn fetch_status(url: &url::Url) -> anyhow::Result<u16> {
    let host = url.host_str().context("healthcheck URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("cannot talk HTTP to {host}:{port}"))?;
    // The connection is driven beside the request; it ends when the answer has come.
    let driver = tokio::spawn(connection);
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let request = hyper::Request::get(path)
        .header(HOST, url.authority())
        .body(Empty::<Bytes>::new())?;
    let answer = sender
        .send_request(request)
        .await
        .with_context(|| format!("not an HTTP answer from {url}"));
    driver.abort();
    Ok(answer?.status().as_u16())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server on a free port that reads the request and answers with `pieces`, one
    /// write each, then closes; the URL to ask it.
    async fn answering(pieces: &'static [&'static str]) -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 1024];
            let _ = stream.read(&mut request).await;
            for piece in pieces {
                stream.write_all(piece.as_bytes()).await.unwrap();
                stream.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        url::Url::parse(&format!("http://{addr}/ready")).unwrap()
    }

    #[tokio::test]
    async fn a_200_split_across_segments_is_healthy() {
        let url = answering(&[
            "HT",
            "TP/1.1 2",
            "00",
            " OK\r",
            "\nContent-Length: 0\r\n\r\n",
        ])
        .await;
        check(&url, Duration::from_secs(5)).await.unwrap();
    }

    #[tokio::test]
    async fn another_status_is_unhealthy_and_named() {
        let url =
            answering(&["HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"]).await;
        let error = check(&url, Duration::from_secs(5)).await.unwrap_err();
        assert!(error.to_string().ends_with("answered 503"), "{error}");
    }

    #[tokio::test]
    async fn a_peer_that_is_not_http_or_closes_early_is_not_an_answer() {
        for pieces in [&["SSH-2.0-OpenSSH_9.2\r\n"][..], &["HTTP/1.1 20"][..]] {
            let url = answering(pieces).await;
            let error = check(&url, Duration::from_secs(5)).await.unwrap_err();
            assert!(
                error.to_string().starts_with("not an HTTP answer"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn a_silent_peer_runs_into_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url =
            url::Url::parse(&format!("http://{}/ready", listener.local_addr().unwrap())).unwrap();
        let error = check(&url, Duration::from_millis(200)).await.unwrap_err();
        assert!(error.to_string().starts_with("no answer from"), "{error}");
        drop(listener);
    }

    #[tokio::test]
    async fn only_http_urls_are_asked() {
        let url = url::Url::parse("https://127.0.0.1/ready").unwrap();
        assert!(check(&url, Duration::from_secs(1)).await.is_err());
    }
}
