//! The API's one timestamp format, `YYYY-MM-DDTHH:MM:SS` in UTC, for serde and parsing.

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::Serializer;

/// The wire format of every timestamp the API writes.
pub const API_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The platform CSV format, `YYYY-MM-DD HH:MM:SS`, in UTC.
pub const CSV_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Renders a timestamp in the API format.
pub fn format(at: &DateTime<Utc>) -> String {
    at.format(API_FORMAT).to_string()
}

/// Parses a client timestamp: the API format (UTC), the CSV format, or RFC 3339 with an
/// offset. Years must have four digits, as the API writes them.
pub fn parse(raw: &str) -> Result<DateTime<Utc>, TimestampError> {
    let raw = raw.trim();
    // chrono reads `%S` (and the other fields) from one digit on; the API's forms have
    // fixed widths, which is also what the published pattern says.
    if !has_fixed_width_date_and_time(raw) {
        return Err(TimestampError);
    }
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|with_offset| with_offset.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [API_FORMAT, "%Y-%m-%dT%H:%M:%S%.f", CSV_FORMAT]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
                .map(|naive| naive.and_utc())
        });
    match parsed {
        Some(at) if (1..=9999).contains(&at.year()) => Ok(at),
        _ => Err(TimestampError),
    }
}

/// Whether `raw` starts with `YYYY-MM-DD`, `T` or a space, and `HH:MM:SS`, every field
/// its full width.
fn has_fixed_width_date_and_time(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.len() >= 19
        && bytes[..19].iter().enumerate().all(|(at, &byte)| match at {
            4 | 7 => byte == b'-',
            10 => matches!(byte, b'T' | b't' | b' '),
            13 | 16 => byte == b':',
            _ => byte.is_ascii_digit(),
        })
}

/// A text that is not a timestamp the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a timestamp like 2026-01-31T23:59:59 (UTC, four-digit year)")]
pub struct TimestampError;

/// serde `serialize_with` for `DateTime<Utc>` fields.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&at.format(API_FORMAT))
}

/// serde `serialize_with` for `Option<DateTime<Utc>>` fields.
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_csv_and_rfc3339_forms_to_utc() {
        let expected = "2026-01-31T23:59:59";
        for raw in [
            "2026-01-31T23:59:59",
            "2026-01-31 23:59:59",
            "2026-02-01T01:59:59+02:00",
            "2026-01-31T23:59:59Z",
        ] {
            assert_eq!(format(&parse(raw).unwrap()), expected, "{raw}");
        }
        assert!(parse("tomorrow").is_err());
        for out_of_range in [
            "+262142-12-31T23:59:59",
            "-4000-01-01T00:00:00",
            "0000-01-01 00:00:00",
        ] {
            assert!(parse(out_of_range).is_err(), "{out_of_range}");
        }
    }

    #[test]
    fn every_field_has_its_full_width() {
        for short in [
            "2100-01-01T00:00:0",
            "2100-1-01T00:00:00",
            "2100-01-1 00:00:00",
            "2100-01-01T0:00:00",
            "2100-01-01T00:0:00Z",
            "210-01-01T00:00:00",
        ] {
            assert!(parse(short).is_err(), "{short}");
        }
        assert!(parse("2100-01-01T00:00:00.250").is_ok());
    }
}
