//! A display name: not unique, 1–64 characters after trimming.

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A trimmed, non-empty username of at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        match trimmed.chars().count() {
            0 => Err("must not be empty".to_owned()),
            n if n > MAX_USERNAME_CHARS => {
                Err(format!("must be at most {MAX_USERNAME_CHARS} characters"))
            }
            _ if trimmed.chars().any(char::is_control) => {
                Err("must not contain control characters".to_owned())
            }
            _ => Ok(Self(trimmed.to_owned())),
        }
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
