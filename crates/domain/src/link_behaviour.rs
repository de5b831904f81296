//! The rules of a link's behaviour on redirect: its status code and its visit cap.

use serde::{Deserialize, Serialize};

/// The redirect's status code, per link: 302 unless the owner chooses another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub enum RedirectStatus {
    /// 301: permanent; browsers may keep it for as long as they like, so it cannot be
    /// taken back from a browser that has it.
    MovedPermanently,
    /// 302: temporary, the default.
    #[default]
    Found,
    /// 307: temporary, and the method and body are kept.
    TemporaryRedirect,
    /// 308: permanent, and the method and body are kept.
    PermanentRedirect,
}

/// Every status code a link may redirect with, in the API's order.
pub const REDIRECT_STATUS_CODES: [u16; 4] = [301, 302, 307, 308];

/// A status code that is not one of [`REDIRECT_STATUS_CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of 301, 302, 307 or 308")]
pub struct RedirectStatusError;

impl RedirectStatus {
    /// The status for `code`.
    pub fn from_code(code: i64) -> Result<Self, RedirectStatusError> {
        match code {
            301 => Ok(Self::MovedPermanently),
            302 => Ok(Self::Found),
            307 => Ok(Self::TemporaryRedirect),
            308 => Ok(Self::PermanentRedirect),
            _ => Err(RedirectStatusError),
        }
    }

    /// The HTTP status code.
    pub fn code(self) -> u16 {
        match self {
            Self::MovedPermanently => 301,
            Self::Found => 302,
            Self::TemporaryRedirect => 307,
            Self::PermanentRedirect => 308,
        }
    }

    /// Whether clients may remember the redirect as the link's lasting meaning.
    pub fn is_permanent(self) -> bool {
        matches!(self, Self::MovedPermanently | Self::PermanentRedirect)
    }
}

impl From<RedirectStatus> for u16 {
    fn from(status: RedirectStatus) -> Self {
        status.code()
    }
}

impl TryFrom<u16> for RedirectStatus {
    type Error = RedirectStatusError;

    fn try_from(code: u16) -> Result<Self, Self::Error> {
        Self::from_code(i64::from(code))
    }
}

/// The largest visit cap accepted.
pub const MAX_VISITS_LIMIT: i32 = 1_000_000_000;

/// A cap outside 1 to [`MAX_VISITS_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an integer from 1 to {MAX_VISITS_LIMIT}")]
pub struct MaxVisitsError;

/// A link's cap on human visits.
pub fn parse_max_visits(raw: i64) -> Result<i32, MaxVisitsError> {
    i32::try_from(raw)
        .ok()
        .filter(|cap| (1..=MAX_VISITS_LIMIT).contains(cap))
        .ok_or(MaxVisitsError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_four_redirect_codes_are_statuses() {
        for code in REDIRECT_STATUS_CODES {
            assert_eq!(
                RedirectStatus::from_code(i64::from(code)).unwrap().code(),
                code
            );
        }
        for code in [0, 200, 300, 303, 304, 305, 306, 309, 410, -302] {
            assert_eq!(RedirectStatus::from_code(code), Err(RedirectStatusError));
        }
        assert_eq!(RedirectStatus::default().code(), 302);
        assert!(RedirectStatus::MovedPermanently.is_permanent());
        assert!(RedirectStatus::PermanentRedirect.is_permanent());
        assert!(!RedirectStatus::Found.is_permanent());
        assert!(!RedirectStatus::TemporaryRedirect.is_permanent());
    }

    #[test]
    fn a_cap_is_at_least_one_and_at_most_the_limit() {
        assert_eq!(parse_max_visits(1), Ok(1));
        assert_eq!(
            parse_max_visits(i64::from(MAX_VISITS_LIMIT)),
            Ok(MAX_VISITS_LIMIT)
        );
        for bad in [0, -1, i64::from(MAX_VISITS_LIMIT) + 1, i64::MAX] {
            assert_eq!(parse_max_visits(bad), Err(MaxVisitsError));
        }
    }
}
