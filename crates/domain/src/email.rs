//! An email address, checked by HTML's rules for a valid e-mail address.

use std::net::IpAddr;

/// Longest address accepted, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Addresses the published schema describes: HTML's valid e-mail address with a local
/// part of at most 64 characters. Every address
/// of at most [`MAX_EMAIL_CHARS`] characters it matches is accepted; the parser also
/// takes a few forms it leaves out (internationalised domains, IP literals).
pub const EMAIL_PATTERN: &str = concat!(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@",
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$",
);

/// A syntactically valid email address, trimmed, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong);
        }
        if !is_valid_address(trimmed) {
            return Err(EmailError::Invalid);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given (case preserved; uniqueness is case-insensitive in the database).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// HTML's valid e-mail address (WHATWG, "valid e-mail address"), with RFC 5321's limits
/// of 64 characters before the `@` and 255 after it; the domain may also be an IP literal
/// in brackets or an internationalised name (checked in its punycode form).
fn is_valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    if local.chars().count() > 64 || domain.chars().count() > 255 {
        return false;
    }
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    local_ok
        && (is_valid_domain(domain)
            || is_ip_literal(domain)
            || idna::domain_to_ascii(domain).is_ok_and(|ascii| is_valid_domain(&ascii)))
}

/// Dot-separated labels of 1 to 63 letters, digits and inner hyphens.
fn is_valid_domain(domain: &str) -> bool {
    domain.split('.').all(|label| {
        let bytes = label.as_bytes();
        (1..=63).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
    })
}

/// `[address]`, an IPv4 or IPv6 address (SMTP's address literal).
fn is_ip_literal(domain: &str) -> bool {
    domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<IpAddr>().is_ok())
}

/// Why a text is not an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_EMAIL_CHARS} characters")]
    TooLong,
    #[error("must be a valid email address")]
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_and_trims() {
        assert_eq!(
            Email::parse(" a.b@example.com ").unwrap().as_str(),
            "a.b@example.com"
        );
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "",
            "   ",
            "hello",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@-b.com",
            "a@b-.com",
            "a@b..com",
            "a@[1.2.3]",
            "a@x[1.2.3.4]",
            "\"quoted\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
    }

    #[test]
    fn accepts_what_html_accepts_plus_literals_and_international_domains() {
        for good in [
            "first.last+tag@example.com",
            "o'brien@sub.example.co.uk",
            "x@localhost",
            "user@[192.0.2.1]",
            "user@[2001:db8::1]",
            "jörg@bücher.example",
        ] {
            let accepted = Email::parse(good).is_ok();
            // Non-ASCII is allowed after the @ only.
            assert_eq!(accepted, !good.starts_with('j'), "{good:?}");
        }
        assert!(Email::parse("jorg@bücher.example").is_ok());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
    }
}
