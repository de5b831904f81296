//! The rules of a link's own fields besides its URL and code: its title and its expiry.

use chrono::{DateTime, Utc};

use super::timestamp::{self, TimestampError};

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 255;

/// A title, trimmed, at most [`MAX_TITLE_CHARS`] characters; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

/// A title that is too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be at most {MAX_TITLE_CHARS} characters")]
pub struct TitleError;

impl Title {
    /// Parses a title; blank means no title (`None`).
    pub fn parse(raw: &str) -> Result<Option<Self>, TitleError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(TitleError);
        }
        Ok((!trimmed.is_empty()).then(|| Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

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
