//! A display name: not unique, 1–64 characters with no control character, not blank;
//! stored trimmed.

use super::text_class::{CONTROL, WHITESPACE, regex_class};

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A username: at most 64 characters as sent, none a control character, not only
/// whitespace; kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            Err(UsernameError::Empty)
        } else if raw.chars().count() > MAX_USERNAME_CHARS {
            Err(UsernameError::TooLong)
        } else if raw.chars().any(char::is_control) {
            Err(UsernameError::ControlCharacters)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    /// The rule as a regex (with lengths 1 to [`MAX_USERNAME_CHARS`]): no control
    /// character, and one that is not whitespace.
    pub fn pattern() -> String {
        let control = regex_class(CONTROL);
        let space = regex_class(WHITESPACE);
        format!("^[^{control}]*[^{control}{space}][^{control}]*$")
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a text is not a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {MAX_USERNAME_CHARS} characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_length() {
        assert_eq!(Username::parse("  ada ").unwrap().as_str(), "ada");
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse(&"x".repeat(64)).is_ok());
        assert!(Username::parse(&"x".repeat(65)).is_err());
        assert!(Username::parse("a\u{0}b").is_err());
        assert!(
            Username::parse("\tada").is_err(),
            "control characters even at the ends"
        );
        let padded = format!(" {} ", "x".repeat(63));
        assert!(
            Username::parse(&padded).is_err(),
            "the length as sent counts"
        );
    }
}
