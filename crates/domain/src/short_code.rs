//! Short codes: the path segment a link is reached by, custom or generated.

/// Paths the service itself answers; a custom code may not shadow them.
pub const RESERVED_CODES: &[&str] = &[
    "health",
    "live",
    "ready",
    "metrics",
    "users",
    "urls",
    "events",
    "stats",
    "openapi.json",
    "docs",
    "api",
    "static",
    "favicon.ico",
    "robots.txt",
];

/// Shortest and longest code, in characters.
pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 32;

/// A short code of 3–32 characters from `[A-Za-z0-9_-]` that is not a reserved path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortCode(String);

impl ShortCode {
    /// Parses a client-chosen code; the error says what is wrong for the client.
    pub fn parse(raw: &str) -> Result<Self, ShortCodeError> {
        match Self::problem(raw) {
            None => Ok(Self(raw.to_owned())),
            Some(Problem::Length) => Err(ShortCodeError::Length),
            Some(Problem::Characters) => Err(ShortCodeError::Characters),
            Some(Problem::Reserved) => Err(ShortCodeError::Reserved(raw.to_owned())),
        }
    }

    /// Whether `raw` could be a short code at all: the redirect's check before any
    /// lookup, so it allocates nothing.
    pub fn is_well_formed(raw: &str) -> bool {
        Self::problem(raw).is_none()
    }

    fn problem(raw: &str) -> Option<Problem> {
        // Every allowed character is ASCII, so bytes count characters here.
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Some(if (MIN_LEN..=MAX_LEN).contains(&raw.chars().count()) {
                Problem::Characters
            } else {
                Problem::Length
            });
        }
        if !(MIN_LEN..=MAX_LEN).contains(&raw.len()) {
            return Some(Problem::Length);
        }
        RESERVED_CODES
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(raw))
            .then_some(Problem::Reserved)
    }

    /// The rule as a regex: the alphabet and the lengths, and a negative lookahead for
    /// each reserved path that the alphabet can spell, case-insensitively (as
    /// `[Hh][Ee]...`: ECMA-262 has no inline `(?i)`). Matches exactly what
    /// [`ShortCode::parse`] accepts.
    pub fn pattern() -> String {
        let reserved: Vec<String> = RESERVED_CODES
            .iter()
            .filter(|code| {
                code.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
            .map(|code| {
                code.chars()
                    .map(|c| {
                        if c.is_ascii_alphabetic() {
                            format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            })
            .collect();
        format!(
            "^(?!(?:{})$)[A-Za-z0-9_-]{{{MIN_LEN},{MAX_LEN}}}$",
            reserved.join("|")
        )
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a string is not a short code.
/// Why a text is not a short code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShortCodeError {
    #[error("must be {MIN_LEN} to {MAX_LEN} characters")]
    Length,
    #[error("may contain only letters, digits, '_' and '-'")]
    Characters,
    #[error("'{0}' is reserved")]
    Reserved(String),
}

/// A generated-code length outside what a short code may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("short code length must be {MIN_LEN} to {MAX_LEN}, got {0}")]
pub struct CodeLengthError(pub usize);

enum Problem {
    Length,
    Characters,
    Reserved,
}

/// Makes random base62 codes of a fixed length.
#[derive(Debug, Clone, Copy)]
pub struct ShortCodeGenerator {
    length: usize,
}

impl ShortCodeGenerator {
    /// A generator of `length`-character codes; `length` must be within 3..=32.
    pub fn new(length: usize) -> Result<Self, CodeLengthError> {
        if (MIN_LEN..=MAX_LEN).contains(&length) {
            Ok(Self { length })
        } else {
            Err(CodeLengthError(length))
        }
    }

    /// A fresh random code. Base62 codes never collide with a reserved path
    /// (all reserved names contain a character outside base62 or are lower-case words
    /// that are re-checked here anyway).
    pub fn generate(&self) -> ShortCode {
        loop {
            let candidate = crate::random::text(self.length, crate::random::BASE62);
            if let Ok(code) = ShortCode::parse(&candidate) {
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_custom_codes_in_the_alphabet() {
        for good in ["abc", "my-link_2", &"a".repeat(32)] {
            assert!(ShortCode::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn rejects_bad_length_characters_and_reserved_paths() {
        for bad in [
            "ab",
            &"a".repeat(33),
            "has space",
            "dots.dots",
            "ünï",
            "health",
            "USERS",
            "openapi.json",
            "Stats",
        ] {
            assert!(ShortCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_codes_have_the_configured_length_and_alphabet() {
        let generator = ShortCodeGenerator::new(7).unwrap();
        for _ in 0..200 {
            let code = generator.generate();
            assert_eq!(code.as_str().len(), 7);
            assert!(code.as_str().chars().all(|c| c.is_ascii_alphanumeric()));
        }
        assert!(ShortCodeGenerator::new(2).is_err());
    }
}
