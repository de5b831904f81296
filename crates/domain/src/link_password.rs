//! A link's password as a visitor or its owner sends it: kept out of every `Debug`
//! output, log line and answer; only its argon2id hash is stored.

/// Shortest and longest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 4;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A password of [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`] characters, no NUL.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkPassword(String);

/// A password that breaks the rule (the message never holds the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, with no NUL")]
pub struct LinkPasswordError;

impl LinkPassword {
    pub fn parse(raw: &str) -> Result<Self, LinkPasswordError> {
        let chars = raw.chars().count();
        if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) && !raw.contains('\0') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(LinkPasswordError)
        }
    }

    /// The password's bytes, for hashing and checking only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for LinkPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_has_its_length_and_never_shows_in_debug() {
        let password = LinkPassword::parse("hunter22").unwrap();
        assert_eq!(format!("{password:?}"), "LinkPassword(..)");
        assert_eq!(password.expose(), b"hunter22");
        for bad in ["abc", &"x".repeat(MAX_PASSWORD_CHARS + 1), "ab\0cd"] {
            assert_eq!(LinkPassword::parse(bad), Err(LinkPasswordError), "{bad:?}");
        }
    }
}
