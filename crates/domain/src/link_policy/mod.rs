//! Which destinations a link may have beyond being a valid URL: not a blocked domain or
//! address, not the service itself (a link to one of its own hosts can redirect in a
//! loop), and not a host inside a network ([`AddressClass`]) unless the deployment allows
//! private targets.

mod authority;
mod blocklist;

use url::Url;

use super::TargetUrl;
use crate::address_class::AddressClass;
use authority::{Authority, without_trailing_dot};
use blocklist::Blocklist;

/// The configured blocklist, the service's own hosts, and whether internal addresses are
/// allowed.
#[derive(Debug, Clone, Default)]
pub struct LinkPolicy {
    blocklist: Blocklist,
    /// The service's own hosts, each with an optional port.
    own_hosts: Vec<Authority>,
    /// `ALLOW_PRIVATE_TARGETS`: links to loopback, private, link-local, carrier-grade NAT
    /// and unspecified addresses and to `localhost` names are allowed.
    allow_private_targets: bool,
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkPolicyError {
    #[error("links to {0} are not allowed (blocked domain)")]
    Blocked(String),
    #[error("must not point back at this service ({0}): the redirect would loop")]
    OwnHost(String),
    #[error("links to {host} are not allowed ({class} address)")]
    Address { host: String, class: AddressClass },
}

/// Why a policy setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {entry:?} {reason}")]
pub struct LinkPolicySettingError {
    pub setting: &'static str,
    pub entry: String,
    pub reason: String,
}

impl LinkPolicy {
    /// The policy from `BLOCKED_DOMAINS` entries (a domain, an IP or a CIDR range) and
    /// `PUBLIC_HOSTS` entries (`host` or `host:port`). Internal addresses are refused
    /// until [`Self::allowing_private_targets`] says otherwise.
    pub fn new<'a>(
        blocked: impl IntoIterator<Item = &'a str>,
        own_hosts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, LinkPolicySettingError> {
        let mut policy = Self::default();
        policy.block("BLOCKED_DOMAINS", blocked)?;
        for entry in own_hosts
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let authority = Authority::parse(entry).ok_or_else(|| LinkPolicySettingError {
                setting: "PUBLIC_HOSTS",
                entry: entry.to_owned(),
                reason: "is not a host name".to_owned(),
            })?;
            policy.own_hosts.push(authority);
        }
        Ok(policy)
    }

    /// Adds blocklist entries (a domain, an IP or a CIDR range each) read from `setting`.
    pub fn block<'a>(
        &mut self,
        setting: &'static str,
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LinkPolicySettingError> {
        for entry in entries.into_iter().map(str::trim).filter(|e| !e.is_empty()) {
            self.blocklist
                .add(entry)
                .map_err(|reason| LinkPolicySettingError {
                    setting,
                    entry: entry.to_owned(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// The policy with links to internal addresses allowed or not
    /// (`ALLOW_PRIVATE_TARGETS`, for intranet deployments). Multicast, broadcast and
    /// reserved addresses stay refused either way.
    pub fn allowing_private_targets(mut self, allowed: bool) -> Self {
        self.allow_private_targets = allowed;
        self
    }

    /// Checks a destination; `request_host` is the Host the request came in on (the
    /// service's own, whatever `PUBLIC_HOSTS` says). The most specific reason wins: the
    /// operator's blocklist, then a loop, then the class of the address.
    pub fn check(
        &self,
        target: &TargetUrl,
        request_host: Option<&str>,
    ) -> Result<(), LinkPolicyError> {
        let Ok(url) = Url::parse(target.as_str()) else {
            return Ok(());
        };
        let Some(host) = url.host().map(without_trailing_dot) else {
            return Ok(());
        };
        let shown = || {
            url.host_str()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_owned()
        };
        if let Some(domain) = self.blocklist.entry_for(&host) {
            let blocked = domain.map_or_else(shown, str::to_owned);
            return Err(LinkPolicyError::Blocked(blocked));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let requested = request_host.and_then(Authority::parse);
        if self
            .own_hosts
            .iter()
            .chain(requested.as_ref())
            .any(|own| own.covers(&host, port))
        {
            return Err(LinkPolicyError::OwnHost(shown()));
        }
        match AddressClass::of(&host) {
            Some(class) if !(self.allow_private_targets && class.is_internal()) => {
                Err(LinkPolicyError::Address {
                    host: shown(),
                    class,
                })
            }
            _ => Ok(()),
        }
    }

    /// This policy with the entries of `BLOCKED_DOMAINS_FILE`'s text added: one per
    /// line, `#` starting a comment.
    pub fn with_file_entries(&self, text: &str) -> Result<Self, LinkPolicySettingError> {
        let mut policy = self.clone();
        let entries = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default());
        policy.block("BLOCKED_DOMAINS_FILE", entries)?;
        Ok(policy)
    }

    /// Whether any domain, address or range is blocked.
    pub fn has_blocklist(&self) -> bool {
        !self.blocklist.is_empty()
    }

    /// Whether the blocklist covers a stored destination: the check a redirect makes, so
    /// a link whose domain was blocked after it was made stops redirecting. Nothing else
    /// is checked there (links made before a rule keep redirecting), and with an empty
    /// blocklist nothing is parsed.
    pub fn blocks(&self, stored_url: &str) -> bool {
        if self.blocklist.is_empty() {
            return false;
        }
        let Ok(url) = Url::parse(stored_url) else {
            return false;
        };
        url.host()
            .map(without_trailing_dot)
            .is_some_and(|host| self.blocklist.entry_for(&host).is_some())
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
            ["evil.example", " Phish.TEST ", "192.0.2.1", ""],
            ["sho.rt", "localhost:8080"],
        )
        .unwrap()
    }

    #[test]
    fn the_blocklist_refuses_before_the_address_class_and_names_the_entry() {
        let mut policy = LinkPolicy::new(["Evil.Example", "10.0.0.0/8"], []).unwrap();
        policy.block("BLOCKED_DOMAINS_FILE", ["fc00::/7"]).unwrap();
        for (url, names) in [
            ("https://a.b.evil.example./x", "evil.example"),
            ("http://0xa.1/", "10.0.0.1"),
            ("http://[::ffff:a00:1]/", "[::ffff:a00:1]"),
            ("http://[fd00::1]/", "[fd00::1]"),
        ] {
            assert_eq!(
                policy.check(&target(url), None),
                Err(LinkPolicyError::Blocked(names.to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn internal_addresses_are_refused_unless_private_targets_are_allowed() {
        let strict = LinkPolicy::default();
        let intranet = LinkPolicy::default().allowing_private_targets(true);
        for url in [
            "http://127.0.0.1/",
            "http://127.0.0.1:3000/x",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost/",
            "http://localhost./",
            "http://LOCALHOST:3000/",
            "http://app.localhost/",
            "http://app.localhost./",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.0.1/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[::ffff:a00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fe80::1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
        ] {
            assert!(
                matches!(
                    strict.check(&target(url), None),
                    Err(LinkPolicyError::Address { class, .. }) if class.is_internal()
                ),
                "{url} should be refused"
            );
            assert_eq!(intranet.check(&target(url), None), Ok(()), "{url}");
        }
        for url in [
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://240.0.0.1/",
            "http://[ff02::1]/",
        ] {
            for policy in [&strict, &intranet] {
                assert!(
                    matches!(
                        policy.check(&target(url), None),
                        Err(LinkPolicyError::Address { .. })
                    ),
                    "{url} should be refused"
                );
            }
        }
    }

    #[test]
    fn a_refused_address_names_the_host_and_its_class() {
        let error = LinkPolicy::default()
            .check(&target("http://0xa.0.0.1/"), None)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "links to 10.0.0.1 are not allowed (private address)"
        );
    }

    #[test]
    fn public_destinations_are_accepted_with_or_without_private_targets() {
        for policy in [
            LinkPolicy::default(),
            LinkPolicy::default().allowing_private_targets(true),
        ] {
            for url in [
                "https://example.com",
                "http://93.184.216.34/",
                "https://[2606:2800:220:1:248:1893:25c8:1946]/",
                "https://xn--bcher-kva.example/",
                "https://bücher.example/",
                "https://localhost.example.com/",
            ] {
                assert_eq!(policy.check(&target(url), None), Ok(()), "{url}");
            }
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
        // Not loops; with private targets allowed nothing else refuses them.
        let intranet = policy.allowing_private_targets(true);
        for (url, host) in [
            ("http://localhost:9000/abc", None),
            ("http://127.0.0.1:3001/x", Some("127.0.0.1:3000")),
            ("https://example.com/", Some("sho.rt")),
        ] {
            assert_eq!(
                intranet.check(&target(url), host),
                Ok(()),
                "{url} via {host:?}"
            );
        }
    }

    #[test]
    fn a_stored_destination_is_blocked_by_the_blocklist_alone() {
        let base = LinkPolicy::new(["evil.example"], ["sho.rt"]).unwrap();
        let policy = base
            .with_file_entries("# lab\n10.0.0.0/8 # old lab\n\nbücher.example\n")
            .unwrap();
        for blocked in [
            "https://evil.example/x",
            "https://cdn.EVIL.example./x",
            "http://[::ffff:10.1.2.3]/",
            "https://shop.xn--bcher-kva.example/",
            "https://bücher.example/ü",
        ] {
            assert!(policy.blocks(blocked), "{blocked}");
        }
        // Not the blocklist's: loops, internal addresses, what does not parse.
        for not_blocked in [
            "https://sho.rt/x",
            "http://127.0.0.1/",
            "https://example.com/",
            "not a url",
        ] {
            assert!(!policy.blocks(not_blocked), "{not_blocked}");
        }
        assert!(!LinkPolicy::default().blocks("https://evil.example/"));
        assert!(!base.blocks("http://10.1.2.3/"), "the base is left alone");
    }

    #[test]
    fn bad_settings_are_refused_naming_setting_and_entry() {
        assert!(LinkPolicy::new(["evil.example:80"], []).is_err());
        assert!(LinkPolicy::new(["a b"], []).is_err());
        assert!(LinkPolicy::new([], ["http://x/"]).is_err());
        assert!(LinkPolicy::new([], ["[::1]:8080"]).is_ok());
        for entry in ["10.0.0.0/33", "10.0.0.1/8", "example.com/8", "10.0.0.0/x"] {
            let error = LinkPolicy::new(["fine.example", entry], []).unwrap_err();
            assert_eq!(
                (error.setting, error.entry.as_str()),
                ("BLOCKED_DOMAINS", entry)
            );
        }
        let mut policy = LinkPolicy::default();
        let error = policy
            .block("BLOCKED_DOMAINS_FILE", ["::/129"])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "BLOCKED_DOMAINS_FILE: \"::/129\" has a prefix longer than its address"
        );
    }
}
