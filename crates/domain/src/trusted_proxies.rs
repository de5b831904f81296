//! `TRUSTED_PROXIES`: the proxies whose `X-Forwarded-For` is believed, and the client's
//! address read through them.

use std::net::IpAddr;

use crate::ip_range::IpRange;

/// The loopback ranges: the default, for a proxy on the same host.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128";

/// Ranges of proxy addresses (CIDR, or an address alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    ranges: Vec<IpRange>,
}

/// Why a `TRUSTED_PROXIES` entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TRUSTED_PROXIES entry {entry:?} {why}")]
pub struct TrustedProxiesError {
    entry: String,
    why: String,
}

impl TrustedProxies {
    /// Comma-separated ranges (`10.0.0.0/8, ::1`); empty: no proxy is trusted.
    pub fn parse(text: &str) -> Result<Self, TrustedProxiesError> {
        let ranges = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let parsed = match entry.parse::<IpAddr>() {
                    Ok(address) => Ok(IpRange::single(address)),
                    Err(_) => IpRange::parse(entry),
                };
                parsed.map_err(|why| TrustedProxiesError {
                    entry: entry.to_owned(),
                    why: why.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { ranges })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(address))
    }

    /// The client's address: the rightmost address of `forwarded_for` (each
    /// `X-Forwarded-For` header, in order) that is not a trusted proxy, when the peer is
    /// one; otherwise the peer. A list a trusted proxy passed on that cannot be read
    /// gives the last address read before the fault (or the peer).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer;
        if !self.trusts(peer) {
            return client;
        }
        for hop in forwarded_for.rev().flat_map(|header| header.rsplit(',')) {
            match hop.trim().parse::<IpAddr>() {
                Ok(address) => {
                    client = address;
                    if !self.trusts(address) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::parse(DEFAULT_TRUSTED_PROXIES).expect("the default ranges parse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn client(proxies: &str, peer: &str, headers: &[&str]) -> IpAddr {
        TrustedProxies::parse(proxies)
            .unwrap()
            .client(ip(peer), headers.iter().copied())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client(DEFAULT_TRUSTED_PROXIES, "203.0.113.9", &["8.8.8.8"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        // A client may put anything at the left; only what trusted proxies appended counts.
        assert_eq!(
            client(
                "127.0.0.0/8,10.0.0.0/8",
                "127.0.0.1",
                &["6.6.6.6, 8.8.8.8, 10.1.2.3"]
            ),
            ip("8.8.8.8")
        );
        assert_eq!(
            client(
                "127.0.0.0/8,10.0.0.0/8",
                "127.0.0.1",
                &["6.6.6.6", "8.8.8.8, 10.1.2.3"]
            ),
            ip("8.8.8.8")
        );
    }

    #[test]
    fn a_trusted_peer_without_a_list_is_the_client() {
        assert_eq!(client(DEFAULT_TRUSTED_PROXIES, "::1", &[]), ip("::1"));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        assert_eq!(
            client(
                "127.0.0.1, 10.0.0.0/8",
                "127.0.0.1",
                &["8.8.8.8, junk, 10.0.0.2"]
            ),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn no_proxies_trusts_nobody() {
        assert_eq!(client("", "127.0.0.1", &["8.8.8.8"]), ip("127.0.0.1"));
    }

    #[test]
    fn bad_entries_are_named() {
        let error = TrustedProxies::parse("10.0.0.0/8, 10.0.0.1/8").unwrap_err();
        assert!(error.to_string().contains("10.0.0.1/8"), "{error}");
        assert!(TrustedProxies::parse("nonsense").is_err());
    }
}
