//! The access line of every request, formatted by hand into the log buffer: the same JSON
//! object tracing's formatter would write (`timestamp`, `level`, `message`, the event's
//! fields, `target`), without its per-event allocations and generic field walk. Every
//! other event still goes through tracing's formatter. (`scripts/profile-redirect` put the
//! formatter at 12 % of a replica's CPU on cached redirects.)

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

use super::batched_stderr::BatchedStderr;

/// Writes the events of the access-log target.
pub struct AccessLines {
    out: BatchedStderr,
}

impl AccessLines {
    pub fn new(out: BatchedStderr) -> Self {
        Self { out }
    }
}

thread_local! {
    /// One line's bytes, reused by every request served on this thread.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

impl<S: Subscriber> Layer<S> for AccessLines {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() != shortener_http::ACCESS_LOG_TARGET {
            return;
        }
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            format_line(&mut line, SystemTime::now(), event);
            let _ = self.out.make_writer().write_all(&line);
        });
    }
}

/// `{"timestamp":…,"level":"INFO",<fields>,"target":…}` and a newline.
fn format_line(out: &mut Vec<u8>, now: SystemTime, event: &Event<'_>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(event.metadata().level().as_str().as_bytes());
    out.push(b'"');
    event.record(&mut JsonFields { out });
    out.extend_from_slice(b",\"target\":\"");
    escape_into(out, event.metadata().target());
    out.extend_from_slice(b"\"}\n");
}

/// Each field as `,"name":value`: numbers and booleans bare, everything else a string.
struct JsonFields<'a> {
    out: &'a mut Vec<u8>,
}

impl JsonFields<'_> {
    fn name(&mut self, field: &Field) {
        self.out.extend_from_slice(b",\"");
        escape_into(self.out, field.name());
        self.out.extend_from_slice(b"\":");
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        self.out.push(b'"');
        escape_into(self.out, value);
        self.out.push(b'"');
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.name(field);
        let _ = write!(self.out, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.name(field);
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.name(field);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.name(field);
        self.out.push(b'"');
        let _ = write!(Escaped(self.out), "{value:?}");
        self.out.push(b'"');
    }
}

/// A `fmt::Write` that JSON-escapes into a buffer (for `Display`/`Debug` fields).
struct Escaped<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        escape_into(self.0, text);
        Ok(())
    }
}

/// `text` as the inside of a JSON string.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[start..at]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = at + 1;
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), as tracing's JSON formatter writes it.
fn write_timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let in_day = seconds % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        since_epoch.subsec_micros()
    );
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_match_chrono_across_four_centuries() {
        for days in (-200_000_i64..200_000).step_by(997) {
            let at = UNIX_EPOCH
                + Duration::from_secs((days.max(0) * 86_400 + 45_296) as u64)
                + Duration::from_micros(123_456);
            let mut out = Vec::new();
            write_timestamp(&mut out, at);
            let expected = chrono::DateTime::<chrono::Utc>::from(at)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        for days in [-719_468_i64, -1, 0, 59, 60, 365, 10_956, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            let expected =
                chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            assert_eq!(
                (y as i32, m, d),
                (
                    chrono::Datelike::year(&expected),
                    chrono::Datelike::month(&expected),
                    chrono::Datelike::day(&expected)
                ),
                "{days}"
            );
        }
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\"b\\c\nd\u{1}é");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "a\\\"b\\\\c\\nd\\u0001é");
        let parsed: String = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn an_access_event_becomes_the_same_object_tracings_formatter_writes() {
        use tracing_subscriber::layer::SubscriberExt;

        let (out, thread) = BatchedStderr::start_capturing().unwrap();
        let subscriber = tracing_subscriber::registry().with(AccessLines::new(out.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let method = "GET";
            tracing::info!(
                target: shortener_http::ACCESS_LOG_TARGET,
                request_id = "r-1",
                method = %method,
                route = "/{short_code}",
                status = 302_u16,
                latency_ms = 0.25,
                replica = "app-1",
                key = Option::<&str>::None,
                "request"
            );
            tracing::info!(target: "elsewhere", "not an access line");
        });
        let captured = BatchedStderr::captured(thread);
        let lines: Vec<&str> = captured.lines().collect();
        assert_eq!(lines.len(), 1, "{captured}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "request");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["method"], "GET");
        assert_eq!(line["route"], "/{short_code}");
        assert_eq!(line["status"], 302);
        assert_eq!(line["latency_ms"], 0.25);
        assert_eq!(line["replica"], "app-1");
        assert_eq!(line["target"], shortener_http::ACCESS_LOG_TARGET);
        assert!(
            line.get("key").is_none(),
            "an absent key is left out: {line}"
        );
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
