//! `shortener healthcheck`: a minimal HTTP GET, for images that ship no curl.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Succeeds when `url` answers with status 200 within `timeout`.
pub async fn check(url: &url::Url, timeout: Duration) -> anyhow::Result<()> {
    if url.scheme() != "http" {
        bail!("healthcheck supports only http:// URLs, got {url}");
    }
    let host = url.host_str().context("healthcheck URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let status = tokio::time::timeout(timeout, fetch_status(host, port, url))
        .await
        .with_context(|| format!("no answer from {url} within {timeout:?}"))??;
    if status != 200 {
        bail!("{url} answered {status}");
    }
    Ok(())
}

async fn fetch_status(host: &str, port: u16, url: &url::Url) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0; 64];
    let read = stream.read(&mut head).await?;
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP answer from {url}"))
}
