//! A host with an optional port, as in a Host header or a `PUBLIC_HOSTS` entry, read the
//! way the URL parser reads a link's host.

use url::{Host, Url};

/// A host with an optional port; without one it stands for the host on any port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Authority {
    pub(super) host: Host<String>,
    pub(super) port: Option<u16>,
}

impl Authority {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`, as in a Host header.
    pub(super) fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() || raw.contains(|c: char| c.is_whitespace() || "/@?#\\".contains(c)) {
            return None;
        }
        // The last colon after any IPv6 brackets starts the port.
        let end = raw.rfind(']').unwrap_or(0);
        let (host, port) = match raw[end..].rfind(':') {
            Some(colon) => {
                let colon = end + colon;
                (&raw[..colon], Some(raw[colon + 1..].parse().ok()?))
            }
            None => (raw, None),
        };
        // The URL parser lower-cases, punycodes and checks the host as a link's would be,
        // and reads every IPv4 spelling (`2130706433`, `0x7f.1`) as the address.
        let url = Url::parse(&format!("http://{host}/")).ok()?;
        let host = without_trailing_dot(url.host()?);
        if matches!(host, Host::Domain("")) {
            return None;
        }
        Some(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// Whether a link to `host` on `port` reaches this authority.
    pub(super) fn covers(&self, host: &Host<&str>, port: u16) -> bool {
        let same = match (&self.host, host) {
            (Host::Domain(own), Host::Domain(host)) => own == host,
            (Host::Ipv4(own), Host::Ipv4(host)) => own == host,
            (Host::Ipv6(own), Host::Ipv6(host)) => own == host,
            _ => false,
        };
        same && self.port.is_none_or(|own| own == port)
    }
}

/// A domain with a trailing dot names the same host as without.
pub(super) fn without_trailing_dot(host: Host<&str>) -> Host<&str> {
    match host {
        Host::Domain(domain) => Host::Domain(domain.trim_end_matches('.')),
        other => other,
    }
}
