//! The access line of every request, formatted by hand into the log buffer: the same JSON
//! object tracing's formatter would write (`timestamp`, `level`, `message`, the event's
//! fields, `target`), without its per-event allocations and generic field walk. Every
//! other event still goes through tracing's formatter. (`scripts/profile-redirect` put the
//! formatter at 12 % of a replica's CPU on cached redirects.)

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
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
            format_line(&mut line, event);
            let _ = self.out.make_writer().write_all(&line);
        });
    }
}

/// `{"timestamp":…,"level":"INFO",<fields>,"target":…}` and a newline.
fn format_line(out: &mut Vec<u8>, event: &Event<'_>) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    write_timestamp(out);
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

/// The time now, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC): tracing's own clock, so the stamp
/// is the one its JSON formatter writes on every other line.
fn write_timestamp(out: &mut Vec<u8>) {
    let _ = SystemTime.format_time(&mut Writer::new(&mut Utf8Sink(out)));
}

/// Text written into a byte buffer.
struct Utf8Sink<'a>(&'a mut Vec<u8>);

impl fmt::Write for Utf8Sink<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_timestamp_is_now_in_rfc_3339_to_the_microsecond() {
        let before = chrono::Utc::now();
        let mut out = Vec::new();
        write_timestamp(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.len(), "2026-12-06T17:26:48.123456Z".len(), "{text}");
        assert!(text.ends_with('Z'), "{text}");
        let at = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
        let off = (at.with_timezone(&chrono::Utc) - before).num_milliseconds();
        assert!(
            (0..5_000).contains(&off),
            "{text} is {off} ms after {before}"
        );
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
