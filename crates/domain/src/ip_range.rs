//! IP address ranges in CIDR form over one address space: an IPv4 address is held as its
//! IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so a range written for IPv4 also covers the
//! IPv6 spellings of the same address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv4-mapped block `::ffff:0:0/96`, where IPv4 lives in this space.
const MAPPED_V4: u128 = 0xffff << 32;

/// IPv6 blocks that carry an IPv4 address in their low 32 bits: IPv4-compatible
/// (`::a.b.c.d`, deprecated), IPv4-translated (`::ffff:0:a.b.c.d`) and the NAT64
/// well-known prefix (`64:ff9b::a.b.c.d`), each of which reaches that IPv4 address.
const LOW_V4_CARRIERS: [IpRange; 3] = [
    IpRange::v6(Ipv6Addr::UNSPECIFIED, 96),
    IpRange::v6(Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96),
    IpRange::v6(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
];

/// 6to4 (`2002:AABB:CCDD::/48`), which carries an IPv4 address in bits 16 to 48.
const SIX_TO_FOUR: IpRange = IpRange::v6(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// A CIDR range such as `10.0.0.0/8` or `2001:db8::/32`; an address alone is a range of
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpRange {
    /// The first address, with every bit after the prefix zero.
    first: u128,
    /// Leading bits that must match, out of 128.
    prefix: u8,
}

/// Why a text is not a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IpRangeError {
    #[error("is not an address/prefix range")]
    Syntax,
    #[error("has a prefix longer than its address")]
    PrefixTooLong,
    #[error("has bits set after its prefix")]
    HostBits,
}

impl IpRange {
    /// The IPv4 addresses sharing the first `prefix` (at most 32) bits of `address`.
    pub(crate) const fn v4(address: Ipv4Addr, prefix: u8) -> Self {
        Self::of(MAPPED_V4 | address.to_bits() as u128, 96 + prefix)
    }

    /// The IPv6 addresses sharing the first `prefix` (at most 128) bits of `address`.
    pub(crate) const fn v6(address: Ipv6Addr, prefix: u8) -> Self {
        Self::of(address.to_bits(), prefix)
    }

    const fn of(bits: u128, prefix: u8) -> Self {
        Self {
            first: bits & mask(prefix),
            prefix,
        }
    }

    /// The range of one address.
    pub(crate) fn single(address: IpAddr) -> Self {
        Self::of(bits(address), 128)
    }

    /// `address/prefix`, IPv4 or IPv6. Bits set after the prefix are refused rather
    /// than dropped: `10.0.0.1/8` is more likely a typo than a way to write `10.0.0.0/8`.
    pub(crate) fn parse(text: &str) -> Result<Self, IpRangeError> {
        let (address, prefix) = text.split_once('/').ok_or(IpRangeError::Syntax)?;
        let address: IpAddr = address.parse().map_err(|_| IpRangeError::Syntax)?;
        // `u8::from_str` takes a leading `+`, which no CIDR notation has.
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IpRangeError::Syntax);
        }
        let prefix: u8 = prefix.parse().map_err(|_| IpRangeError::Syntax)?;
        let range = match address {
            IpAddr::V4(v4) if prefix <= 32 => Self::v4(v4, prefix),
            IpAddr::V6(v6) if prefix <= 128 => Self::v6(v6, prefix),
            _ => return Err(IpRangeError::PrefixTooLong),
        };
        if range.first != bits(address) {
            return Err(IpRangeError::HostBits);
        }
        Ok(range)
    }

    /// Whether `address`, as it is written, is in the range.
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        bits(address) & mask(self.prefix) == self.first
    }
}

/// `address` and, when it is an IPv6 form that carries one, the IPv4 address it reaches:
/// a rule about an IPv4 address must hold for those forms too. (The IPv4-mapped form
/// needs no unwrapping: it is the IPv4 address in this space.)
pub(crate) fn with_carried_ipv4(address: IpAddr) -> impl Iterator<Item = IpAddr> {
    let carried = match address {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) => {
            let bits = v6.to_bits();
            if LOW_V4_CARRIERS.iter().any(|block| block.contains(address)) {
                Some(Ipv4Addr::from_bits(bits as u32))
            } else if SIX_TO_FOUR.contains(address) {
                Some(Ipv4Addr::from_bits((bits >> 80) as u32))
            } else {
                None
            }
        }
    };
    std::iter::once(address).chain(carried.map(IpAddr::V4))
}

const fn mask(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        _ => u128::MAX << (128 - prefix as u32),
    }
}

fn bits(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => MAPPED_V4 | u128::from(v4.to_bits()),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv4_range_covers_its_mapped_ipv6_spellings() {
        let range = IpRange::parse("10.0.0.0/8").unwrap();
        for inside in [
            "10.0.0.1",
            "10.255.255.255",
            "::ffff:10.0.0.1",
            "::ffff:a00:1",
        ] {
            assert!(range.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.0", "9.255.255.255", "::10.0.0.1", "2001:db8::a00:1"] {
            assert!(!range.contains(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn an_ipv6_range_matches_on_its_prefix() {
        let range = IpRange::parse("2001:db8::/32").unwrap();
        assert!(range.contains(ip("2001:db8::1")));
        assert!(range.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!range.contains(ip("2001:db9::")));
        assert!(!range.contains(ip("192.0.2.1")));
        let everything = IpRange::parse("::/0").unwrap();
        assert!(everything.contains(ip("2606:2800:220:1::1")));
    }

    #[test]
    fn a_single_address_matches_only_itself_in_any_spelling() {
        let one = IpRange::single(ip("10.0.0.1"));
        assert!(one.contains(ip("::ffff:10.0.0.1")));
        assert!(!one.contains(ip("10.0.0.2")));
        let v6 = IpRange::single(ip("2001:db8::1"));
        assert!(v6.contains(ip("2001:db8:0:0::1")));
        assert!(!v6.contains(ip("2001:db8::2")));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_reason() {
        for (text, why) in [
            ("10.0.0.0", IpRangeError::Syntax),
            ("10.0.0/8", IpRangeError::Syntax),
            ("10.0.0.0/", IpRangeError::Syntax),
            ("10.0.0.0/+8", IpRangeError::Syntax),
            ("10.0.0.0/8/8", IpRangeError::Syntax),
            ("[2001:db8::]/32", IpRangeError::Syntax),
            ("example.com/8", IpRangeError::Syntax),
            ("10.0.0.0/33", IpRangeError::PrefixTooLong),
            ("::/129", IpRangeError::PrefixTooLong),
            ("10.0.0.1/8", IpRangeError::HostBits),
            ("2001:db8::1/32", IpRangeError::HostBits),
        ] {
            assert_eq!(IpRange::parse(text), Err(why), "{text}");
        }
        assert!(IpRange::parse("0.0.0.0/0").is_ok());
        assert!(IpRange::parse("10.0.0.1/32").is_ok());
    }

    #[test]
    fn ipv6_forms_that_reach_an_ipv4_address_carry_it() {
        for (v6, v4) in [
            ("::10.0.0.1", "10.0.0.1"),
            ("::ffff:0:10.0.0.1", "10.0.0.1"),
            ("64:ff9b::7f00:1", "127.0.0.1"),
            ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ] {
            let forms: Vec<_> = with_carried_ipv4(ip(v6)).collect();
            assert_eq!(forms, [ip(v6), ip(v4)], "{v6}");
        }
        for alone in [
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "2606:2800:220:1::1",
            "fe80::1",
        ] {
            assert_eq!(with_carried_ipv4(ip(alone)).count(), 1, "{alone}");
        }
    }
}
