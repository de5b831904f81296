//! The rules of an audit event a client appends: its type and its details.

use serde_json::{Map, Value};

/// Longest event type accepted, in characters.
pub const MAX_EVENT_TYPE_CHARS: usize = 32;

/// An event type: 1 to [`MAX_EVENT_TYPE_CHARS`] characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType(String);

/// An empty or overlong event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {MAX_EVENT_TYPE_CHARS} characters")]
pub struct EventTypeError;

impl EventType {
    pub fn parse(raw: &str) -> Result<Self, EventTypeError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_EVENT_TYPE_CHARS {
            return Err(EventTypeError);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event's details: always a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails(Map<String, Value>);

/// Details that are not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a JSON object")]
pub struct EventDetailsError;

impl EventDetails {
    /// Absent or `null` is the empty object; anything but an object is refused.
    pub fn parse(raw: Option<Value>) -> Result<Self, EventDetailsError> {
        match raw {
            None | Some(Value::Null) => Ok(Self(Map::new())),
            Some(Value::Object(object)) => Ok(Self(object)),
            Some(_) => Err(EventDetailsError),
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
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
    }

    #[test]
    fn details_default_to_an_empty_object_and_must_be_one() {
        assert_eq!(
            EventDetails::parse(None).unwrap().into_value(),
            serde_json::json!({})
        );
        assert!(EventDetails::parse(Some(Value::Null)).is_ok());
        assert!(EventDetails::parse(Some(serde_json::json!([1]))).is_err());
    }
}
