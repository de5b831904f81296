//! `shortener healthcheck`: a minimal HTTP GET, for images that ship no curl.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
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
    let line = read_status_line(&mut stream)
        .await?
        .with_context(|| format!("not an HTTP answer from {url}"))?;
    parse_status(&line).with_context(|| format!("not an HTTP answer from {url}: {line:?}"))
}

/// Longest status line accepted (`HTTP/1.1 200 OK` and a generous reason phrase).
const MAX_STATUS_LINE: usize = 1024;

/// Reads until the first CRLF, however the bytes are split across TCP segments;
/// `None` when the peer closes first or the line runs past [`MAX_STATUS_LINE`].
async fn read_status_line<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = Vec::with_capacity(64);
    let mut chunk = [0; 256];
    loop {
        if let Some(end) = line.windows(2).position(|pair| pair == b"\r\n") {
            line.truncate(end);
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
        if line.len() > MAX_STATUS_LINE {
            return Ok(None);
        }
        let read = reader.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        line.extend_from_slice(&chunk[..read]);
    }
}

/// The code of `HTTP/1.x NNN reason`.
fn parse_status(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_status_line_split_across_segments_is_read_whole() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for piece in [
                "HT",
                "TP/1.1 2",
                "00",
                " OK\r",
                "\nContent-Length: 0\r\n\r\n",
            ] {
                server.write_all(piece.as_bytes()).await.unwrap();
                server.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let line = read_status_line(&mut client).await.unwrap().unwrap();
        writer.await.unwrap();
        assert_eq!(line, "HTTP/1.1 200 OK");
        assert_eq!(parse_status(&line), Some(200));
    }

    #[tokio::test]
    async fn a_peer_that_closes_early_or_talks_forever_is_not_an_answer() {
        let mut early: &[u8] = b"HTTP/1.1 20";
        assert_eq!(read_status_line(&mut early).await.unwrap(), None);
        let endless = vec![b'x'; 4 * MAX_STATUS_LINE];
        assert_eq!(
            read_status_line(&mut endless.as_slice()).await.unwrap(),
            None
        );
    }

    #[test]
    fn only_an_http_status_line_parses() {
        assert_eq!(parse_status("HTTP/1.1 503 Service Unavailable"), Some(503));
        assert_eq!(parse_status("HTTP/1.0 200"), Some(200));
        assert_eq!(parse_status("SSH-2.0-OpenSSH 200"), None);
        assert_eq!(parse_status("HTTP/1.1 20x OK"), None);
        assert_eq!(parse_status(""), None);
    }
}
