//! One attempt at a delivery: a signed POST of the stored body, with a timeout, no
//! redirects followed, and no more than a few KiB of the answer read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::redirect::Policy;

use super::resolver::PublicOnly;
use shortener_domain::{AddressClass, WebhookSecret, signature_header};
use shortener_store::webhook_deliveries::Claimed;

/// Most of an answer's body read (and then dropped): enough to keep the connection
/// reusable for a short answer, and a bound on what a receiver can make the worker read.
pub const ANSWER_READ_LIMIT: usize = 4 * 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// A 2xx.
    Accepted { status: u16 },
    /// Any other status: tried again.
    Refused { status: u16 },
    /// No answer: a timeout, a refused connection, a name that did not resolve.
    Unreachable { error: String },
}

/// The HTTP client of the deliveries.
#[derive(Debug, Clone)]
pub(super) struct Sender {
    client: reqwest::Client,
    /// `ALLOW_PRIVATE_TARGETS`, for receivers given as addresses (which skip the resolver).
    allow_private: bool,
}

impl Sender {
    /// A client with `timeout` for a whole attempt, rustls on the system's roots, and the
    /// resolver's rule on internal addresses.
    pub fn new(timeout: Duration, allow_private: bool) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(Policy::none())
            // A proxy would resolve the receiver's name itself, past the resolver's rule.
            .no_proxy()
            .user_agent(concat!("shortener-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .tls_backend_preconfigured(tls_config()?)
            .build()
            .map_err(|error| format!("cannot build the webhook client: {error}"))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Sends one attempt of `delivery`, signed now with its subscription's secret.
    pub async fn send(&self, delivery: &Claimed) -> (Answer, Duration) {
        let started = Instant::now();
        let answer = self.attempt(delivery).await;
        (answer, started.elapsed())
    }

    async fn attempt(&self, delivery: &Claimed) -> Answer {
        let secret = match WebhookSecret::parse(&delivery.secret) {
            Ok(secret) => secret,
            Err(error) => {
                return Answer::Unreachable {
                    error: error.to_string(),
                };
            }
        };
        if let Some(refused) = refused_address(&delivery.url, self.allow_private) {
            return Answer::Unreachable { error: refused };
        }
        let timestamp = Utc::now().timestamp();
        let body = delivery.payload.clone().into_bytes();
        let signature = signature_header(&secret, &delivery.message_id, timestamp, &body);
        let sent = self
            .client
            .post(&delivery.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Answer::Unreachable {
                    error: describe(&error),
                };
            }
        };
        let status = response.status().as_u16();
        let mut read = 0;
        while read < ANSWER_READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if (200..300).contains(&status) {
            Answer::Accepted { status }
        } else {
            Answer::Refused { status }
        }
    }
}

/// Why a receiver given as an address may not be sent to (ALLOW_PRIVATE_TARGETS may
/// have been turned off since it was subscribed); `None` for a name or a public address.
fn refused_address(url: &str, allow_private: bool) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    let address: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let class = AddressClass::of_address(address)?;
    (!(allow_private && class.is_internal())).then(|| format!("{address} is not a public address"))
}

/// A client error in a few words, with its cause (the timeout, the refused connection).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

/// rustls on ring (the provider the database client already brings) with the system's
/// root certificates.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: webhooks to https:// URLs will fail");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS for webhooks: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_address_is_refused_unless_allowed_and_names_are_left_to_the_resolver() {
        assert!(refused_address("http://127.0.0.1:8080/hook", false).is_some());
        assert!(refused_address("http://[::1]/hook", false).is_some());
        assert_eq!(refused_address("http://127.0.0.1:8080/hook", true), None);
        assert!(refused_address("http://224.0.0.1/hook", true).is_some());
        assert_eq!(refused_address("https://93.184.216.34/hook", false), None);
        assert_eq!(refused_address("http://localhost/hook", false), None);
    }
}
