//! Which destinations a link may have beyond being a valid URL: not a blocked domain, and
//! not the service itself (a link to one of its own hosts can redirect in a loop).

use std::collections::HashSet;

use url::Url;

use super::TargetUrl;

/// The configured blocklist and the service's own hosts.
#[derive(Debug, Clone, Default)]
pub struct LinkPolicy {
    /// Lower-case domains (each blocks itself and every subdomain) and IP literals.
    blocked: HashSet<String>,
    /// The service's own hosts, lower-case, each with an optional port.
    own_hosts: Vec<Authority>,
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkPolicyError {
    #[error("links to {0} are not allowed (blocked domain)")]
    Blocked(String),
    #[error("must not point back at this service ({0}): the redirect would loop")]
    OwnHost(String),
}

/// Why a policy setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {entry:?} is not a host name")]
pub struct LinkPolicySettingError {
    pub setting: &'static str,
    pub entry: String,
}

/// A host with an optional port; without one it stands for the host on any port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

impl Authority {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`, as in a Host header.
    fn parse(raw: &str) -> Option<Self> {
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
        // The URL parser lower-cases, punycodes and checks the host as a link's would be.
        let url = Url::parse(&format!("http://{host}/")).ok()?;
        let host = url.host_str().filter(|host| !host.is_empty())?;
        Some(Self {
            host: host.trim_end_matches('.').to_owned(),
            port,
        })
    }

    fn covers(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|own| own == port)
    }
}

impl LinkPolicy {
    /// The policy from `BLOCKED_DOMAINS` entries (a domain or an IP) and `PUBLIC_HOSTS`
    /// entries (`host` or `host:port`).
    pub fn new<'a>(
        blocked: impl IntoIterator<Item = &'a str>,
        own_hosts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, LinkPolicySettingError> {
        let mut policy = Self::default();
        for entry in blocked.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
            let authority = Authority::parse(entry)
                .filter(|authority| authority.port.is_none())
                .ok_or_else(|| LinkPolicySettingError {
                    setting: "BLOCKED_DOMAINS",
                    entry: entry.to_owned(),
                })?;
            policy.blocked.insert(authority.host);
        }
        for entry in own_hosts
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let authority = Authority::parse(entry).ok_or_else(|| LinkPolicySettingError {
                setting: "PUBLIC_HOSTS",
                entry: entry.to_owned(),
            })?;
            policy.own_hosts.push(authority);
        }
        Ok(policy)
    }

    /// Checks a destination; `request_host` is the Host the request came in on (the
    /// service's own, whatever `PUBLIC_HOSTS` says).
    pub fn check(
        &self,
        target: &TargetUrl,
        request_host: Option<&str>,
    ) -> Result<(), LinkPolicyError> {
        let Ok(url) = Url::parse(target.as_str()) else {
            return Ok(());
        };
        let Some(host) = url.host_str() else {
            return Ok(());
        };
        // The parser has already lower-cased and punycoded the host; a trailing dot
        // names the same host.
        let host = host.trim_end_matches('.');
        let port = url.port_or_known_default().unwrap_or(0);
        if let Some(blocked) = self.blocked_suffix(host) {
            return Err(LinkPolicyError::Blocked(blocked.to_owned()));
        }
        let requested = request_host.and_then(Authority::parse);
        if self
            .own_hosts
            .iter()
            .chain(requested.as_ref())
            .any(|own| own.covers(host, port))
        {
            return Err(LinkPolicyError::OwnHost(host.to_owned()));
        }
        Ok(())
    }

    /// The blocked entry that `host` is or is a subdomain of.
    fn blocked_suffix<'a>(&self, host: &'a str) -> Option<&'a str> {
        if self.blocked.is_empty() {
            return None;
        }
        if self.blocked.contains(host) {
            return Some(host);
        }
        host.match_indices('.')
            .map(|(dot, _)| &host[dot + 1..])
            .find(|parent| self.blocked.contains(*parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(raw: &str) -> TargetUrl {
        TargetUrl::parse(raw).unwrap()
    }

    fn policy() -> LinkPolicy {
        LinkPolicy::new(
            ["evil.example", " Phish.TEST ", "10.0.0.1", ""],
            ["sho.rt", "localhost:8080"],
        )
        .unwrap()
    }

    #[test]
    fn blocked_domains_cover_their_subdomains_only() {
        let policy = policy();
        for bad in [
            "https://evil.example/x",
            "http://EVIL.example./",
            "https://a.b.evil.example:8443/",
            "https://phish.test",
            "http://10.0.0.1/admin",
        ] {
            assert!(
                matches!(
                    policy.check(&target(bad), None),
                    Err(LinkPolicyError::Blocked(_))
                ),
                "{bad} should be blocked"
            );
        }
        for good in [
            "https://notevil.example/",
            "https://evil.example.com/",
            "http://10.0.0.10/",
        ] {
            assert_eq!(policy.check(&target(good), None), Ok(()), "{good}");
        }
    }

    #[test]
    fn links_back_to_the_service_are_refused() {
        let policy = policy();
        for (url, host) in [
            ("https://sho.rt/abc", None),
            ("http://SHO.RT:9000/abc", None),
            ("http://localhost:8080/abc", None),
            ("http://127.0.0.1:3000/x", Some("127.0.0.1:3000")),
            ("https://api.internal/x", Some("api.internal")),
        ] {
            assert!(
                matches!(
                    policy.check(&target(url), host),
                    Err(LinkPolicyError::OwnHost(_))
                ),
                "{url} via {host:?} should loop"
            );
        }
        for (url, host) in [
            ("http://localhost:9000/abc", None),
            ("http://127.0.0.1:3001/x", Some("127.0.0.1:3000")),
            ("https://example.com/", Some("sho.rt")),
        ] {
            assert_eq!(
                policy.check(&target(url), host),
                Ok(()),
                "{url} via {host:?}"
            );
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(LinkPolicy::new(["evil.example:80"], []).is_err());
        assert!(LinkPolicy::new(["a b"], []).is_err());
        assert!(LinkPolicy::new([], ["http://x/"]).is_err());
        assert!(LinkPolicy::new([], ["[::1]:8080"]).is_ok());
    }
}
