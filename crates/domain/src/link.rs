//! The rules of a link's own fields besides its URL and code: its title and its expiry.

use chrono::{DateTime, Utc};

use super::timestamp::{self, TimestampError};

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 255;

/// A title of at most [`MAX_TITLE_CHARS`] characters as sent, kept trimmed; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

/// A title that is too long or holds a NUL character (which Postgres cannot store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most {MAX_TITLE_CHARS} characters, with no NUL")]
pub struct TitleError;

/// The title rule as a regex (with lengths 0 to [`MAX_TITLE_CHARS`]).
pub const TITLE_PATTERN: &str = r"^[^\x00]*$";

impl Title {
    /// Parses a title; blank means no title (`None`).
    pub fn parse(raw: &str) -> Result<Option<Self>, TitleError> {
        if raw.chars().count() > MAX_TITLE_CHARS || raw.contains('\0') {
            return Err(TitleError);
        }
        let trimmed = raw.trim();
        Ok((!trimmed.is_empty()).then(|| Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Expiries the published schema describes: the API format, or RFC 3339 with `Z` or an
/// offset, in the years 2100 to 8999 and on days 1 to 28. Narrower than what is accepted
/// (any valid time in the future) so that every text it matches is valid and in the
/// future, whenever it is read.
pub const FUTURE_EXPIRY_PATTERN: &str = concat!(
    r"^(?:2[1-9]|[3-8][0-9])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]",
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$",
);

/// Why a text is not an acceptable expiry for a new link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error(transparent)]
    Unreadable(#[from] TimestampError),
    #[error("must be in the future")]
    InThePast,
}

/// A new link's expiry: a timestamp after `now`.
pub fn parse_future_expiry(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ExpiryError> {
    let at = timestamp::parse(raw)?;
    if at <= now {
        return Err(ExpiryError::InThePast);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_blank_is_none_and_long_is_refused() {
        assert_eq!(Title::parse("  hi ").unwrap().unwrap().as_str(), "hi");
        assert_eq!(Title::parse("   ").unwrap(), None);
        assert!(Title::parse(&"é".repeat(MAX_TITLE_CHARS)).is_ok());
        assert_eq!(
            Title::parse(&"é".repeat(MAX_TITLE_CHARS + 1)),
            Err(TitleError)
        );
        let padded = format!("{} ", "é".repeat(MAX_TITLE_CHARS));
        assert_eq!(
            Title::parse(&padded),
            Err(TitleError),
            "the length as sent counts"
        );
    }

    #[test]
    fn an_expiry_must_be_readable_and_in_the_future() {
        let now = timestamp::parse("2026-06-01T00:00:00").unwrap();
        assert!(parse_future_expiry("2026-06-01T00:00:01", now).is_ok());
        assert_eq!(
            parse_future_expiry("2026-06-01T00:00:00", now),
            Err(ExpiryError::InThePast)
        );
        assert!(matches!(
            parse_future_expiry("tomorrow", now),
            Err(ExpiryError::Unreadable(_))
        ));
    }
}
