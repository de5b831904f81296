//! The API's response bodies as the tests read them: every field the contract names,
//! each required (a nullable field must be present, as `null`), and no other field
//! (`deny_unknown_fields`). A response that drifts from the documented shape fails to
//! deserialise, with the body in the message. Timestamps stay text: the tests compare
//! them as the API writes them.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A nullable field that must still be present (serde would take a missing `Option` as
/// `None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A short link (`POST /urls`, `GET /urls/{id}`, the items of `GET /urls`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub id: i64,
    #[serde(deserialize_with = "present")]
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    #[serde(deserialize_with = "present")]
    pub title: Option<String>,
    pub is_active: bool,
    #[serde(deserialize_with = "present")]
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(deserialize_with = "present")]
    pub max_visits: Option<i64>,
    #[serde(deserialize_with = "present")]
    pub visits_left: Option<i64>,
    #[serde(deserialize_with = "present")]
    pub expired_url: Option<String>,
    pub redirect_status: u16,
    pub forward_query: bool,
    pub tags: Vec<String>,
    #[serde(deserialize_with = "present")]
    pub preview: Option<serde_json::Value>,
    pub protected: bool,
    pub rules: serde_json::Value,
    pub variants: serde_json::Value,
    pub destination: Destination,
}

/// A link's destination health.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub status: String,
    #[serde(deserialize_with = "present")]
    pub checked_at: Option<String>,
    #[serde(deserialize_with = "present")]
    pub status_code: Option<u16>,
    #[serde(deserialize_with = "present")]
    pub error: Option<String>,
    pub failures: u32,
    #[serde(deserialize_with = "present")]
    pub down_since: Option<String>,
}

/// A user (`POST /users`, `GET /users/{id}`, the items of `GET /users`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: String,
}

/// An event of the audit trail (`POST /events`, the items of the event lists).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub id: i64,
    pub url_id: i64,
    #[serde(deserialize_with = "present")]
    pub user_id: Option<i64>,
    pub event_type: String,
    pub timestamp: String,
    /// Always a JSON object; its keys depend on the event type.
    pub details: Value,
    /// The name of the API key whose request wrote it; null for clicks and imports.
    #[serde(deserialize_with = "present")]
    pub actor: Option<String>,
}

/// `GET /urls/{id}/stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkStats {
    pub url_id: i64,
    pub short_code: String,
    pub clicks: i64,
    #[serde(deserialize_with = "present")]
    pub last_click_at: Option<String>,
    pub from: String,
    pub to: String,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub unique_visitors: i64,
    pub clicks_by_day: Vec<DayClicks>,
    pub top_countries: Vec<KeyClicks>,
    pub top_browsers: Vec<KeyClicks>,
    pub top_oses: Vec<KeyClicks>,
    pub top_devices: Vec<KeyClicks>,
    pub top_referrer_hosts: Vec<KeyClicks>,
    pub top_referrers: Vec<ReferrerClicks>,
}

/// `GET /stats`: every link the key may read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeStats {
    #[serde(deserialize_with = "present")]
    pub user_id: Option<i64>,
    pub from: String,
    pub to: String,
    pub clicks: i64,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub unique_visitors: i64,
    pub clicks_by_day: Vec<DayClicks>,
    pub top_countries: Vec<KeyClicks>,
    pub top_browsers: Vec<KeyClicks>,
    pub top_oses: Vec<KeyClicks>,
    pub top_devices: Vec<KeyClicks>,
    pub top_referrer_hosts: Vec<KeyClicks>,
    pub top_links: Vec<KeyClicks>,
}

/// One row of `GET /urls/{id}/stats/{dimension}`, or of a stats top list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyClicks {
    #[serde(deserialize_with = "present")]
    pub key: Option<String>,
    pub clicks: i64,
    pub unique_visitors: i64,
}

/// One day of [`LinkStats::clicks_by_day`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayClicks {
    pub date: String,
    pub clicks: i64,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub unique_visitors: i64,
}

/// One referrer of [`LinkStats::top_referrers`] (`None`: none sent).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferrerClicks {
    #[serde(deserialize_with = "present")]
    pub referrer: Option<String>,
    pub clicks: i64,
}

/// `POST /users/bulk`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportReport {
    pub count: u64,
    pub skipped: u64,
    pub errors: Vec<RowError>,
    pub error_count: u64,
}

/// A rejected row of an [`ImportReport`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

/// The one error shape of every 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: String,
    /// Field name → what is wrong with it; present for field errors only.
    #[serde(default)]
    pub details: Option<std::collections::BTreeMap<String, String>>,
}

impl ErrorBody {
    /// Whether the details name `field`.
    pub fn names(&self, field: &str) -> bool {
        self.details
            .as_ref()
            .is_some_and(|details| details.contains_key(field))
    }

    /// The message about `field`, panicking with the whole body when there is none.
    #[track_caller]
    pub fn detail(&self, field: &str) -> &str {
        self.details
            .as_ref()
            .and_then(|details| details.get(field))
            .unwrap_or_else(|| panic!("no detail for {field:?} in {self:?}"))
    }
}

/// A body with an id: a link, a user, an event.
pub trait Identified {
    fn id(&self) -> i64;
}

macro_rules! identified {
    ($($body:ty),*) => {$(
        impl Identified for $body {
            fn id(&self) -> i64 {
                self.id
            }
        }
    )*};
}

identified!(Link, User, Event);

/// The ids of a list's items, in order.
pub fn ids<T: Identified>(items: &[T]) -> Vec<i64> {
    items.iter().map(Identified::id).collect()
}

/// Bodies show in assertion messages (`"{link}"`) as their `Debug` form.
macro_rules! displayed_as_debug {
    ($($body:ty),*) => {$(
        impl std::fmt::Display for $body {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{self:?}")
            }
        }
    )*};
}

displayed_as_debug!(Link, User, Event, LinkStats, ImportReport, ErrorBody);
