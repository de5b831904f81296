//! The rules of an audit event a client appends: its type and its details.

use serde_json::{Map, Value};

use super::text_class::not_blank_pattern;

/// Longest event type accepted, in characters.
pub const MAX_EVENT_TYPE_CHARS: usize = 32;

/// An event type: 1 to [`MAX_EVENT_TYPE_CHARS`] characters as sent, not only whitespace;
/// kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType(String);

/// The types only the service writes: a redirect's `click`, and a link's `created`,
/// `updated` and `deleted`. A client cannot append them, so the trail and the click
/// counts cannot be forged.
pub const SERVICE_EVENT_TYPES: [&str; 4] = ["click", "created", "updated", "deleted"];

/// Why a text is not a type a client may append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventTypeError {
    #[error("must be 1 to {MAX_EVENT_TYPE_CHARS} characters, not only whitespace, no NUL")]
    Form,
    #[error("{0} events are written by the service only")]
    Reserved(&'static str),
}

impl EventType {
    /// A type a client may append: well formed, and not one of [`SERVICE_EVENT_TYPES`].
    pub fn parse(raw: &str) -> Result<Self, EventTypeError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || raw.chars().count() > MAX_EVENT_TYPE_CHARS || raw.contains('\0') {
            return Err(EventTypeError::Form);
        }
        if let Some(reserved) = SERVICE_EVENT_TYPES.into_iter().find(|t| *t == trimmed) {
            return Err(EventTypeError::Reserved(reserved));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The rule as a regex (with lengths 1 to [`MAX_EVENT_TYPE_CHARS`]): no NUL, and a
    /// character that is not whitespace.
    pub fn pattern() -> String {
        not_blank_pattern()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Largest client event details accepted, as compact JSON, in bytes: an audit note, not a
/// document store (and far below what any index or row limit could trip on).
pub const MAX_EVENT_DETAILS_BYTES: usize = 4096;

/// An event's details: always a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails(Map<String, Value>);

/// Details that are not a JSON object, that hold a NUL character (in a key or a
/// string), which Postgres cannot store in jsonb, or that are too large.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventDetailsError {
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("must not contain NUL characters (at {0})")]
    Nul(String),
    #[error("must be at most {MAX_EVENT_DETAILS_BYTES} bytes as JSON")]
    TooLarge,
}

impl EventDetails {
    /// Absent or `null` is the empty object; anything but an object is refused.
    pub fn parse(raw: Option<Value>) -> Result<Self, EventDetailsError> {
        let object = match raw {
            None | Some(Value::Null) => return Ok(Self(Map::new())),
            Some(Value::Object(object)) => object,
            Some(_) => return Err(EventDetailsError::NotAnObject),
        };
        if let Some(path) = nul_in_object(&object, "details") {
            return Err(EventDetailsError::Nul(path));
        }
        if json_size(&object) > MAX_EVENT_DETAILS_BYTES {
            return Err(EventDetailsError::TooLarge);
        }
        Ok(Self(object))
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// The length of `object` written as compact JSON.
fn json_size(object: &Map<String, Value>) -> usize {
    /// Counts bytes instead of keeping them.
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a map of JSON values cannot fail, and the counter never does.
    let _ = serde_json::to_writer(&mut counter, object);
    counter.0
}

/// The path of the first key or string in `object` holding a NUL character.
fn nul_in_object(object: &Map<String, Value>, path: &str) -> Option<String> {
    object.iter().find_map(|(key, value)| {
        let here = format!("{path}.{key}");
        if key.contains('\0') {
            Some(here)
        } else {
            nul_in_value(value, &here)
        }
    })
}

fn nul_in_value(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_in_value(item, &format!("{path}.{index}"))),
        Value::Object(object) => nul_in_object(object, path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_trimmed_and_bounded() {
        assert_eq!(EventType::parse(" share ").unwrap().as_str(), "share");
        assert!(EventType::parse("  ").is_err());
        assert!(EventType::parse(&"x".repeat(MAX_EVENT_TYPE_CHARS)).is_ok());
        assert!(EventType::parse(&"x".repeat(MAX_EVENT_TYPE_CHARS + 1)).is_err());
        let padded = format!("{} ", "x".repeat(MAX_EVENT_TYPE_CHARS));
        assert!(
            EventType::parse(&padded).is_err(),
            "the length as sent counts"
        );
    }

    #[test]
    fn the_services_own_types_are_refused_in_any_padding() {
        for reserved in SERVICE_EVENT_TYPES {
            for raw in [reserved.to_owned(), format!(" {reserved}\t")] {
                assert_eq!(
                    EventType::parse(&raw),
                    Err(EventTypeError::Reserved(reserved)),
                    "{raw:?}"
                );
            }
        }
        for other in ["Click", "clicks", "share", "created-by-hand"] {
            assert!(EventType::parse(other).is_ok(), "{other}");
        }
    }

    #[test]
    fn details_are_bounded_as_json() {
        let at_limit = |extra: usize| {
            // {"n":"…"} is 8 bytes around the text.
            let text = "x".repeat(MAX_EVENT_DETAILS_BYTES - 8 + extra);
            EventDetails::parse(Some(serde_json::json!({ "n": text })))
        };
        assert!(at_limit(0).is_ok());
        assert_eq!(at_limit(1), Err(EventDetailsError::TooLarge));
        let escaped = "\"".repeat(MAX_EVENT_DETAILS_BYTES / 2);
        assert_eq!(
            EventDetails::parse(Some(serde_json::json!({ "q": escaped }))),
            Err(EventDetailsError::TooLarge),
            "escapes count as written"
        );
    }

    #[test]
    fn details_default_to_an_empty_object_and_must_be_one() {
        assert_eq!(
            EventDetails::parse(None).unwrap().into_value(),
            serde_json::json!({})
        );
        assert!(EventDetails::parse(Some(Value::Null)).is_ok());
        assert!(EventDetails::parse(Some(serde_json::json!([1]))).is_err());
        let nested = serde_json::json!({"a": {"b": [1, "x\u{0}"]}});
        assert_eq!(
            EventDetails::parse(Some(nested)),
            Err(EventDetailsError::Nul("details.a.b.1".into()))
        );
        let key = serde_json::json!({"k\u{0}": 1});
        assert!(matches!(
            EventDetails::parse(Some(key)),
            Err(EventDetailsError::Nul(_))
        ));
    }
}
