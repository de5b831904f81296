//! One check of a destination: a HEAD, then a GET when the HEAD is not answered with a
//! 2xx or 3xx; redirects followed up to a limit, each hop held to the rule on internal
//! addresses; a timeout on the whole; no more than a few KiB of a body read.

use std::time::Duration;

use reqwest::redirect::Policy;

use crate::outbound::{self, describe, refused_address, refused_host};
use shortener_domain::{CheckResult, head_needs_get};

/// Most of a GET's body read (and dropped): a check needs the status line only.
const BODY_READ_LIMIT: usize = 4 * 1024;

/// The checks' HTTP client.
#[derive(Debug, Clone)]
pub(super) struct Prober {
    client: reqwest::Client,
    /// `ALLOW_PRIVATE_TARGETS`, for destinations given as addresses.
    allow_private: bool,
}

impl Prober {
    /// A client with `timeout` per request that follows at most `max_redirects`.
    pub fn new(
        timeout: Duration,
        allow_private: bool,
        max_redirects: usize,
    ) -> Result<Self, String> {
        let policy = Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error(format!("more than {max_redirects} redirects"))
            } else if let Some(refused) = refused_host(attempt.url(), allow_private) {
                attempt.error(format!("redirected to {refused}"))
            } else {
                attempt.follow()
            }
        });
        let client = outbound::client(
            timeout,
            allow_private,
            concat!("shortener-health-check/", env!("CARGO_PKG_VERSION")),
            policy,
        )?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Checks `url` once.
    pub async fn check(&self, url: &str) -> CheckResult {
        if let Some(refused) = refused_address(url, self.allow_private) {
            return CheckResult::unanswered(refused);
        }
        match self.client.head(url).send().await {
            Err(error) => CheckResult::unanswered(describe(&error)),
            Ok(response) if !head_needs_get(response.status().as_u16()) => {
                CheckResult::answered(response.status().as_u16())
            }
            Ok(_) => self.get(url).await,
        }
    }

    async fn get(&self, url: &str) -> CheckResult {
        let mut response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(error) => return CheckResult::unanswered(describe(&error)),
        };
        let status = response.status().as_u16();
        let mut read = 0;
        while read < BODY_READ_LIMIT {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        CheckResult::answered(status)
    }
}
