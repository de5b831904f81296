//! The operator's blocklist (`BLOCKED_DOMAINS`, `BLOCKED_DOMAINS_FILE`): domains with
//! their subdomains, addresses in every spelling, and CIDR ranges.

use std::collections::HashSet;
use std::net::IpAddr;

use url::Host;

use super::authority::Authority;
use crate::ip_range::{IpRange, with_carried_ipv4};

/// Blocked domains, addresses and ranges.
#[derive(Debug, Clone, Default)]
pub(super) struct Blocklist {
    /// Lower-case domains, each blocking itself and every subdomain.
    domains: HashSet<String>,
    /// Blocked addresses and CIDR ranges; an IPv4 entry covers the IPv6 forms of its
    /// addresses too.
    ranges: Vec<IpRange>,
}

impl Blocklist {
    /// Adds one entry: a domain, an IP address or a CIDR range; the error says what is
    /// wrong with it.
    pub(super) fn add(&mut self, entry: &str) -> Result<(), String> {
        if entry.contains('/') {
            let range = IpRange::parse(entry).map_err(|error| error.to_string())?;
            self.ranges.push(range);
            return Ok(());
        }
        // A bare IPv6 address has colons that a host:port reading would take for a port.
        if let Ok(address) = entry.parse::<IpAddr>() {
            self.ranges.push(IpRange::single(address));
            return Ok(());
        }
        let authority = Authority::parse(entry)
            .filter(|authority| authority.port.is_none())
            .ok_or_else(|| "is not a host name, IP address or CIDR range".to_owned())?;
        match authority.host {
            Host::Domain(domain) => {
                self.domains.insert(domain);
            }
            Host::Ipv4(v4) => self.ranges.push(IpRange::single(v4.into())),
            Host::Ipv6(v6) => self.ranges.push(IpRange::single(v6.into())),
        }
        Ok(())
    }

    /// Whether there are no entries.
    pub(super) fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.ranges.is_empty()
    }

    /// Whether `host` (a parsed URL's, without a trailing dot) is blocked: `Some` with
    /// the blocked domain it is or is a subdomain of, or with `None` for an address.
    pub(super) fn entry_for<'a>(&self, host: &Host<&'a str>) -> Option<Option<&'a str>> {
        match *host {
            Host::Domain(domain) => self.blocked_suffix(domain).map(Some),
            Host::Ipv4(v4) => self.blocks_address(v4.into()).then_some(None),
            Host::Ipv6(v6) => self.blocks_address(v6.into()).then_some(None),
        }
    }

    /// Whether a blocked address or range covers `address` or the IPv4 address it carries.
    fn blocks_address(&self, address: IpAddr) -> bool {
        with_carried_ipv4(address).any(|form| self.ranges.iter().any(|range| range.contains(form)))
    }

    /// The blocked entry that `domain` is or is a subdomain of.
    fn blocked_suffix<'a>(&self, domain: &'a str) -> Option<&'a str> {
        if self.domains.is_empty() {
            return None;
        }
        if self.domains.contains(domain) {
            return Some(domain);
        }
        domain
            .match_indices('.')
            .map(|(dot, _)| &domain[dot + 1..])
            .find(|parent| self.domains.contains(*parent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_policy::authority::without_trailing_dot;
    use url::Url;

    fn blocklist(entries: &[&str]) -> Blocklist {
        let mut list = Blocklist::default();
        for entry in entries {
            list.add(entry).unwrap();
        }
        list
    }

    fn blocks(list: &Blocklist, url: &str) -> bool {
        let url = Url::parse(url).unwrap();
        let host = without_trailing_dot(url.host().unwrap());
        list.entry_for(&host).is_some()
    }

    #[test]
    fn blocked_domains_cover_their_subdomains_only() {
        let list = blocklist(&["evil.example", "Phish.TEST", "bücher.example."]);
        for bad in [
            "https://evil.example/x",
            "http://EVIL.example./",
            "https://a.b.evil.example:8443/",
            "https://phish.test",
            "https://xn--bcher-kva.example/",
            "https://shop.bücher.example/",
        ] {
            assert!(blocks(&list, bad), "{bad} should be blocked");
        }
        for good in [
            "https://notevil.example/",
            "https://evil.example.com/",
            "https://example/",
        ] {
            assert!(!blocks(&list, good), "{good}");
        }
    }

    #[test]
    fn blocked_addresses_and_ranges_match_every_spelling_of_their_addresses() {
        let list = blocklist(&[
            "10.0.0.1",
            "3221225985",
            "172.16.0.0/12",
            "198.51.100.0/24",
            "2001:db8::/32",
            "2001:db9::1",
            "[2001:dba::2]",
        ]);
        for bad in [
            "http://10.0.0.1/",
            "http://167772161/",
            "http://10.1/",
            "http://0xa.0.0.1/",
            "http://[::ffff:10.0.0.1]/",
            "http://[::ffff:a00:1]/",
            "http://[::10.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://192.0.2.1/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://[::ffff:172.20.1.1]/",
            "http://198.51.100.7/",
            "http://[::ffff:c633:6407]/",
            "http://[2001:db8::1]/",
            "http://[2001:DB8:ffff::1]:8080/",
            "http://[2001:db9::1]/",
            "http://[2001:dba::2]/",
        ] {
            assert!(blocks(&list, bad), "{bad} should be blocked");
        }
        for good in [
            "http://10.0.0.2/",
            "http://[::ffff:10.0.0.2]/",
            "http://172.32.0.1/",
            "http://198.51.101.1/",
            "http://[2001:db7::1]/",
            "http://[2001:db9::2]/",
            "http://10.0.0.1.example/",
        ] {
            assert!(!blocks(&list, good), "{good}");
        }
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let mut list = Blocklist::default();
        for (entry, says) in [
            ("evil.example:80", "not a host name"),
            ("a b", "not a host name"),
            ("10.0.0.0/33", "prefix longer"),
            ("10.0.0.1/8", "bits set after its prefix"),
            ("example.com/8", "not an address/prefix range"),
        ] {
            let error = list.add(entry).unwrap_err();
            assert!(error.contains(says), "{entry}: {error}");
        }
    }
}
