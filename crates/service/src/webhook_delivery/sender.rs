//! One attempt at a delivery: a signed POST of the stored body, with a timeout, no
//! redirects followed, and no more than a few KiB of the answer read.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::redirect::Policy;

use crate::outbound::{self, describe, refused_address};
use shortener_domain::{WebhookSecret, signature_header};
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
        let client = outbound::client(
            timeout,
            allow_private,
            concat!("shortener-webhooks/", env!("CARGO_PKG_VERSION")),
            Policy::none(),
        )?;
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
