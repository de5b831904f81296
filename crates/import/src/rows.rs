//! The platform's CSV rows, and their validation into records ready to insert.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use shortener_domain::{Email, ShortCode, TargetUrl, Username, timestamp};

/// A `users.csv` row as read: `id,username,email,created_at` (id and created_at optional).
#[derive(Debug, Deserialize)]
pub struct RawUser {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A valid user row.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Option<i64>,
    pub username: Username,
    pub email: Email,
    pub created_at: Option<DateTime<Utc>>,
}

impl TryFrom<RawUser> for UserRecord {
    type Error = String;

    fn try_from(raw: RawUser) -> Result<Self, String> {
        Ok(Self {
            id: optional(raw.id.as_deref(), "id", parse_id)?,
            username: Username::parse(&required(raw.username, "username")?)
                .map_err(|e| format!("username {e}"))?,
            email: Email::parse(&required(raw.email, "email")?)
                .map_err(|e| format!("email {e}"))?,
            created_at: optional(raw.created_at.as_deref(), "created_at", timestamp::parse)?,
        })
    }
}

/// A `urls.csv` row as read: `id,user_id,short_code,original_url,title,is_active,created_at,updated_at`.
#[derive(Debug, Deserialize)]
pub struct RawLink {
    id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    short_code: Option<String>,
    original_url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    is_active: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

/// A valid link row.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: ShortCode,
    pub original_url: TargetUrl,
    pub title: Option<String>,
    pub is_active: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl TryFrom<RawLink> for LinkRecord {
    type Error = String;

    fn try_from(raw: RawLink) -> Result<Self, String> {
        Ok(Self {
            id: parse_id(&required(raw.id, "id")?).map_err(|e| format!("id {e}"))?,
            user_id: optional(raw.user_id.as_deref(), "user_id", parse_id)?,
            short_code: ShortCode::parse(&required(raw.short_code, "short_code")?)
                .map_err(|e| format!("short_code {e}"))?,
            original_url: TargetUrl::parse(&required(raw.original_url, "original_url")?)
                .map_err(|e| format!("original_url {e}"))?,
            title: raw.title.filter(|t| !t.is_empty()),
            is_active: optional(raw.is_active.as_deref(), "is_active", parse_bool)?.unwrap_or(true),
            created_at: optional(raw.created_at.as_deref(), "created_at", timestamp::parse)?,
            updated_at: optional(raw.updated_at.as_deref(), "updated_at", timestamp::parse)?,
        })
    }
}

/// An `events.csv` row as read: `id,url_id,user_id,event_type,timestamp,details`.
#[derive(Debug, Deserialize)]
pub struct RawEvent {
    id: Option<String>,
    url_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    event_type: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// A valid event row; `details` is a JSON object.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: i64,
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub details: Value,
}

impl TryFrom<RawEvent> for EventRecord {
    type Error = String;

    fn try_from(raw: RawEvent) -> Result<Self, String> {
        let event_type = required(raw.event_type, "event_type")?;
        if event_type.chars().count() > 32 {
            return Err("event_type must be at most 32 characters".to_owned());
        }
        let details = match raw.details.as_deref() {
            None | Some("") => Value::Object(Default::default()),
            Some(text) => {
                serde_json::from_str(text).map_err(|_| "details must be JSON".to_owned())?
            }
        };
        if !details.is_object() {
            return Err("details must be a JSON object".to_owned());
        }
        Ok(Self {
            id: parse_id(&required(raw.id, "id")?).map_err(|e| format!("id {e}"))?,
            url_id: parse_id(&required(raw.url_id, "url_id")?)
                .map_err(|e| format!("url_id {e}"))?,
            user_id: optional(raw.user_id.as_deref(), "user_id", parse_id)?,
            event_type,
            timestamp: optional(raw.timestamp.as_deref(), "timestamp", timestamp::parse)?,
            details,
        })
    }
}

fn required(value: Option<String>, column: &str) -> Result<String, String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{column} is required"))
}

fn optional<T, E: std::fmt::Display>(
    value: Option<&str>,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, String> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some).map_err(|e| format!("{column} {e}")),
    }
}

/// Largest id an import may set (2^53 - 1, exact in every JSON client): the id
/// sequences must keep room above imported ids.
pub const MAX_IMPORTED_ID: i64 = (1 << 53) - 1;

fn parse_id(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(id) if (1..=MAX_IMPORTED_ID).contains(&id) => Ok(id),
        _ => Err(format!("must be an integer from 1 to {MAX_IMPORTED_ID}")),
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Ok(true),
        "false" | "f" | "0" | "no" => Ok(false),
        _ => Err("must be True or False".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_user(id: &str, username: &str, email: &str) -> RawUser {
        RawUser {
            id: Some(id.into()),
            username: Some(username.into()),
            email: Some(email.into()),
            created_at: None,
        }
    }

    #[test]
    fn user_rows_are_validated_with_column_names_in_errors() {
        assert!(UserRecord::try_from(raw_user("", "ada", "ada@example.com")).is_ok());
        let bad_id = UserRecord::try_from(raw_user("x", "ada", "ada@example.com")).unwrap_err();
        assert!(bad_id.starts_with("id "), "{bad_id}");
        let bad_email = UserRecord::try_from(raw_user("1", "ada", "nope")).unwrap_err();
        assert!(bad_email.starts_with("email "), "{bad_email}");
    }

    #[test]
    fn platform_booleans_parse() {
        assert_eq!(parse_bool("True"), Ok(true));
        assert_eq!(parse_bool("False"), Ok(false));
        assert!(parse_bool("maybe").is_err());
    }
}
