//! An email address, checked with `validator`'s HTML5-style rules.

use validator::ValidateEmail;

/// Longest address accepted, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Addresses the published schema describes: HTML's valid e-mail address (what
/// `validator` checks first) with a local part of at most 64 characters. Every address
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
        if !trimmed.validate_email() {
            return Err(EmailError::Invalid);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given (case preserved; uniqueness is case-insensitive in the database).
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
        for bad in ["", "   ", "hello", "a@", "@b.com", "a b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
