//! The rules of an audit event a client appends: its type and its details.

use serde_json::{Map, Value};

use super::text_class::{WHITESPACE, regex_class};

/// Longest event type accepted, in characters.
pub const MAX_EVENT_TYPE_CHARS: usize = 32;

/// An event type: 1 to [`MAX_EVENT_TYPE_CHARS`] characters as sent, not only whitespace;
/// kept trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType(String);

/// An empty or overlong event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {MAX_EVENT_TYPE_CHARS} characters, not only whitespace, no NUL")]
pub struct EventTypeError;

impl EventType {
    pub fn parse(raw: &str) -> Result<Self, EventTypeError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || raw.chars().count() > MAX_EVENT_TYPE_CHARS || raw.contains('\0') {
            return Err(EventTypeError);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The rule as a regex (with lengths 1 to [`MAX_EVENT_TYPE_CHARS`]): no NUL, and a
    /// character that is not whitespace.
    pub fn pattern() -> String {
        let space = regex_class(WHITESPACE);
        format!("^[^\\x00]*[^\\x00{space}][^\\x00]*$")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event's details: always a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails(Map<String, Value>);

/// Details that are not a JSON object, or that hold a NUL character (in a key or a
/// string), which Postgres cannot store in jsonb.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventDetailsError {
    #[error("must be a JSON object")]
    NotAnObject,
    #[error("must not contain NUL characters (at {0})")]
    Nul(String),
}

impl EventDetails {
    /// Absent or `null` is the empty object; anything but an object is refused.
    pub fn parse(raw: Option<Value>) -> Result<Self, EventDetailsError> {
        match raw {
            None | Some(Value::Null) => Ok(Self(Map::new())),
            Some(Value::Object(object)) => match nul_in_object(&object, "details") {
                Some(path) => Err(EventDetailsError::Nul(path)),
                None => Ok(Self(object)),
            },
            Some(_) => Err(EventDetailsError::NotAnObject),
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
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
