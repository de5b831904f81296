//! An email address, checked with `validator`'s HTML5-style rules.

use validator::ValidateEmail;

/// A syntactically valid email address, trimmed, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if trimmed.chars().count() > 254 {
            return Err("must be at most 254 characters".to_owned());
        }
        if !trimmed.validate_email() {
            return Err("must be a valid email address".to_owned());
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given (case preserved; uniqueness is case-insensitive in the database).
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
