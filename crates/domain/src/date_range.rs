//! A stats range: whole UTC days from `from` to `to`, both included.

use chrono::{Days, NaiveDate};

/// Days a range covers by default: the last 30, today included.
pub const DEFAULT_RANGE_DAYS: u64 = 30;
/// Longest range read at once, in days.
pub const MAX_RANGE_DAYS: u64 = 400;

/// Days from `from` to `to`, both included; never empty, never longer than
/// [`MAX_RANGE_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

/// Why a range is refused, naming the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateRangeError {
    #[error("must be a date written YYYY-MM-DD")]
    NotADate { field: &'static str },
    #[error("must not be after `to`")]
    Reversed,
    #[error("the range may cover at most {MAX_RANGE_DAYS} days")]
    TooLong,
}

impl DateRangeError {
    /// The query parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotADate { field } => field,
            Self::Reversed | Self::TooLong => "from",
        }
    }
}

impl DateRange {
    /// The range from the parameters `from` and `to` (`YYYY-MM-DD`): `to` defaults to
    /// `today`, `from` to [`DEFAULT_RANGE_DAYS`] days ending at `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, DateRangeError> {
        let to = match to {
            Some(text) => date(text, "to")?,
            None => today,
        };
        let from = match from {
            Some(text) => date(text, "from")?,
            None => to
                .checked_sub_days(Days::new(DEFAULT_RANGE_DAYS - 1))
                .unwrap_or(NaiveDate::MIN),
        };
        if from > to {
            return Err(DateRangeError::Reversed);
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS as i64 {
            return Err(DateRangeError::TooLong);
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }
}

fn date(text: &str, field: &'static str) -> Result<NaiveDate, DateRangeError> {
    // Exactly YYYY-MM-DD: chrono alone would take `2026-1-5` and `+2026-01-05`.
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    well_formed
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or(DateRangeError::NotADate { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_is_the_last_thirty_days() {
        let range = DateRange::parse(None, None, day("2026-12-07")).unwrap();
        assert_eq!(
            (range.from(), range.to()),
            (day("2026-11-08"), day("2026-12-07"))
        );
        let range = DateRange::parse(None, Some("2026-01-30"), day("2026-12-07")).unwrap();
        assert_eq!(range.from(), day("2026-01-01"));
    }

    #[test]
    fn bad_ranges_name_their_parameter() {
        let today = day("2026-12-07");
        for (from, to, field) in [
            (Some("2026-13-01"), None, "from"),
            (Some("2026-1-5"), None, "from"),
            (None, Some("yesterday"), "to"),
            (Some("2026-12-08"), Some("2026-12-07"), "from"),
            (Some("2025-01-01"), Some("2026-12-07"), "from"),
        ] {
            let error = DateRange::parse(from, to, today).unwrap_err();
            assert_eq!(error.field(), field, "{from:?} {to:?}: {error}");
        }
        assert!(DateRange::parse(Some("2025-11-03"), Some("2026-12-07"), today).is_ok());
    }
}
