//! A display name: not unique, 1–64 characters after trimming.

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A trimmed, non-empty username of at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let trimmed = raw.trim();
        match trimmed.chars().count() {
            0 => Err(UsernameError::Empty),
            n if n > MAX_USERNAME_CHARS => Err(UsernameError::TooLong),
            _ if trimmed.chars().any(char::is_control) => Err(UsernameError::ControlCharacters),
            _ => Ok(Self(trimmed.to_owned())),
        }
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
    }
}
