//! Hosts no public short link should point to: addresses inside a network (loopback,
//! private, link-local, carrier-grade NAT, unspecified, `localhost` names) and addresses
//! that are no single host at all (multicast, broadcast, reserved).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Host;

use crate::ip_range::{IpRange, with_carried_ipv4};

/// Why a host is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1, and `localhost` with its subdomains.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16), unique local fc00::/7, site-local fec0::/10.
    Private,
    /// 169.254.0.0/16 (cloud metadata services among them) and fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT, 100.64.0.0/10.
    SharedNat,
    /// 0.0.0.0/8 and `::` (which reach the local machine on many systems).
    Unspecified,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 240.0.0.0/4, set aside for future use.
    Reserved,
}

impl AddressClass {
    /// Whether the class names hosts inside a network, which an intranet deployment may
    /// link to (`ALLOW_PRIVATE_TARGETS`); the others are never one host to visit.
    pub fn is_internal(self) -> bool {
        !matches!(self, Self::Multicast | Self::Broadcast | Self::Reserved)
    }

    /// The class of a URL's host, as the URL parser gave it (lower-cased, IPv4 spellings
    /// such as `0x7f.1` already read as addresses); `None` for a public host.
    pub fn of(host: &Host<&str>) -> Option<Self> {
        match host {
            Host::Domain(domain) => {
                let domain = domain.trim_end_matches('.');
                (domain == "localhost" || domain.ends_with(".localhost")).then_some(Self::Loopback)
            }
            Host::Ipv4(v4) => Self::of_address(IpAddr::V4(*v4)),
            Host::Ipv6(v6) => Self::of_address(IpAddr::V6(*v6)),
        }
    }

    /// The class of an address, or of the IPv4 address an IPv6 form of it reaches; `None`
    /// for a public address.
    pub fn of_address(address: IpAddr) -> Option<Self> {
        with_carried_ipv4(address).find_map(|form| {
            SPECIAL
                .iter()
                .find(|(range, _)| range.contains(form))
                .map(|(_, class)| *class)
        })
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link-local",
            Self::SharedNat => "carrier-grade NAT",
            Self::Unspecified => "unspecified",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        })
    }
}

/// The ranges, first match wins (broadcast sits inside 240/4). IPv4 ranges cover the
/// IPv4-mapped IPv6 spellings too ([`IpRange`]).
const SPECIAL: [(IpRange, AddressClass); 16] = [
    (
        IpRange::v4(Ipv4Addr::new(0, 0, 0, 0), 8),
        AddressClass::Unspecified,
    ),
    (
        IpRange::v4(Ipv4Addr::new(10, 0, 0, 0), 8),
        AddressClass::Private,
    ),
    (
        IpRange::v4(Ipv4Addr::new(100, 64, 0, 0), 10),
        AddressClass::SharedNat,
    ),
    (
        IpRange::v4(Ipv4Addr::new(127, 0, 0, 0), 8),
        AddressClass::Loopback,
    ),
    (
        IpRange::v4(Ipv4Addr::new(169, 254, 0, 0), 16),
        AddressClass::LinkLocal,
    ),
    (
        IpRange::v4(Ipv4Addr::new(172, 16, 0, 0), 12),
        AddressClass::Private,
    ),
    (
        IpRange::v4(Ipv4Addr::new(192, 168, 0, 0), 16),
        AddressClass::Private,
    ),
    (
        IpRange::v4(Ipv4Addr::new(224, 0, 0, 0), 4),
        AddressClass::Multicast,
    ),
    (
        IpRange::v4(Ipv4Addr::BROADCAST, 32),
        AddressClass::Broadcast,
    ),
    (
        IpRange::v4(Ipv4Addr::new(240, 0, 0, 0), 4),
        AddressClass::Reserved,
    ),
    (
        IpRange::v6(Ipv6Addr::UNSPECIFIED, 128),
        AddressClass::Unspecified,
    ),
    (
        IpRange::v6(Ipv6Addr::LOCALHOST, 128),
        AddressClass::Loopback,
    ),
    (
        IpRange::v6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
        AddressClass::Private,
    ),
    (
        IpRange::v6(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
        AddressClass::Private,
    ),
    (
        IpRange::v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        AddressClass::LinkLocal,
    ),
    (
        IpRange::v6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
        AddressClass::Multicast,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn class(url: &str) -> Option<AddressClass> {
        let url = Url::parse(url).unwrap();
        AddressClass::of(&url.host().unwrap())
    }

    #[test]
    fn every_internal_range_is_classed_in_every_spelling() {
        use AddressClass::*;
        for (url, expected) in [
            ("http://127.0.0.1/", Loopback),
            ("http://127.255.255.254/", Loopback),
            ("http://2130706433/", Loopback),
            ("http://0x7f.1/", Loopback),
            ("http://127.1/", Loopback),
            ("http://0177.0.0.1/", Loopback),
            ("http://[::1]/", Loopback),
            ("http://[::ffff:127.0.0.1]/", Loopback),
            ("http://[64:ff9b::7f00:1]/", Loopback),
            ("http://localhost/", Loopback),
            ("http://LocalHost./", Loopback),
            ("http://a.b.localhost:8080/", Loopback),
            ("http://api.localhost./", Loopback),
            ("http://ｌｏｃａｌｈｏｓｔ/", Loopback),
            ("http://10.0.0.1/", Private),
            ("http://10.255.255.255/", Private),
            ("http://172.16.0.1/", Private),
            ("http://172.31.255.255/", Private),
            ("http://192.168.1.1/", Private),
            ("http://[fc00::1]/", Private),
            ("http://[fd12:3456::1]/", Private),
            ("http://[fec0::1]/", Private),
            ("http://[::ffff:10.0.0.1]/", Private),
            ("http://[::ffff:a00:1]/", Private),
            ("http://[::10.0.0.1]/", Private),
            ("http://[2002:c0a8:101::]/", Private),
            ("http://169.254.169.254/latest/meta-data/", LinkLocal),
            ("http://169.254.0.1/", LinkLocal),
            ("http://[fe80::1]/", LinkLocal),
            ("http://[febf::1]/", LinkLocal),
            ("http://[::ffff:169.254.169.254]/", LinkLocal),
            ("http://100.64.0.1/", SharedNat),
            ("http://100.127.255.255/", SharedNat),
            ("http://0.0.0.0/", Unspecified),
            ("http://0/", Unspecified),
            ("http://0.1.2.3/", Unspecified),
            ("http://[::]/", Unspecified),
        ] {
            assert_eq!(class(url), Some(expected), "{url}");
            assert!(expected.is_internal(), "{url}");
        }
    }

    #[test]
    fn multicast_broadcast_and_reserved_are_never_internal() {
        use AddressClass::*;
        for (url, expected) in [
            ("http://224.0.0.1/", Multicast),
            ("http://239.255.255.250/", Multicast),
            ("http://[ff02::1]/", Multicast),
            ("http://[::ffff:224.0.0.1]/", Multicast),
            ("http://255.255.255.255/", Broadcast),
            ("http://4294967295/", Broadcast),
            ("http://240.0.0.1/", Reserved),
            ("http://254.1.2.3/", Reserved),
        ] {
            assert_eq!(class(url), Some(expected), "{url}");
            assert!(!expected.is_internal(), "{url}");
        }
    }

    #[test]
    fn public_hosts_and_the_neighbours_of_each_range_have_no_class() {
        for url in [
            "https://example.com/",
            "https://xn--bcher-kva.example/",
            "https://localhost.example.com/",
            "https://notlocalhost/",
            "https://mylocalhost/",
            "http://93.184.216.34/",
            "http://1.1.1.1/",
            "http://9.255.255.255/",
            "http://11.0.0.0/",
            "http://100.63.255.255/",
            "http://100.128.0.0/",
            "http://126.255.255.255/",
            "http://128.0.0.0/",
            "http://169.253.255.255/",
            "http://172.15.255.255/",
            "http://172.32.0.0/",
            "http://192.167.255.255/",
            "http://192.169.0.0/",
            "http://223.255.255.255/",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/",
            "http://[::5db8:d822]/",
            "http://[fbff::1]/",
            "http://[fe00::1]/",
            "http://[::ffff:93.184.216.34]/",
            "http://[64:ff9b::5db8:d822]/",
        ] {
            assert_eq!(class(url), None, "{url}");
        }
    }
}
