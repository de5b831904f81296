//! The stored entities as every layer passes them: the store reads them, the use cases
//! return them, the API's views show them. Each field of a link, a user or an event is
//! declared here once; its rules (a title's length, a URL's form) live in the types that
//! parse client input.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    LinkPassword, LinkPreview, RedirectStatus, Rule, ShortCode, TargetUrl, Targeting, Title,
    Variant,
};

/// A live (not deleted) short link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves on every change of what the link redirects to (from one sequence, so it only
    /// grows); the redirect cache's entries carry it.
    pub version: i64,
    /// The cap on human visits; `None`: no cap.
    pub max_visits: Option<i32>,
    /// The human visits used since the link got its cap (0 without one).
    pub visits_used: i32,
    /// Where an ended link (expired or out of visits) sends visitors instead of a 410.
    pub expired_url: Option<String>,
    /// The redirect's status code (301, 302, 307 or 308).
    pub redirect_status: i16,
    /// Whether the visitor's query string is added to the target's.
    pub forward_query: bool,
    /// Its tags, lower case, sorted and distinct.
    pub tags: Vec<String>,
    /// What link unfurlers are shown (a [`LinkPreview`] as JSON).
    pub preview: Option<serde_json::Value>,
    /// Whether visitors need its password (the hash is never read with the link).
    pub protected: bool,
    /// Its targeting rules, in order (a list of [`Rule`] as JSON; `None`: none).
    pub rules: Option<serde_json::Value>,
    /// Its split (a list of [`Variant`] as JSON; `None`: none).
    pub variants: Option<serde_json::Value>,
    /// Its destination's health as the checker last saw it (`link_health`, as JSON);
    /// `None`: never checked.
    pub destination: Option<serde_json::Value>,
}

impl Link {
    /// The visits left under the cap (never below 0); `None` without a cap.
    pub fn visits_left(&self) -> Option<i32> {
        self.max_visits
            .map(|cap| cap.saturating_sub(self.visits_used).max(0))
    }
}

/// A link to create, its fields parsed.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub user_id: Option<i64>,
    pub original_url: TargetUrl,
    pub title: Option<Title>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The client's code (taken: a conflict), or `None` for a generated one.
    pub code: Option<ShortCode>,
    pub behaviour: LinkBehaviour,
    /// Parsed by [`crate::parse_tags`].
    pub tags: Vec<String>,
}

/// How a link redirects, besides where to: what the owner sets with the link.
#[derive(Debug, Clone, Default)]
pub struct LinkBehaviour {
    pub max_visits: Option<i32>,
    pub expired_url: Option<TargetUrl>,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    /// What link unfurlers are shown instead of a redirect.
    pub preview: Option<LinkPreview>,
    /// Visitors must send it; hashed by the service before it is stored.
    pub password: Option<LinkPassword>,
    /// Parsed by [`crate::parse_rules`].
    pub rules: Vec<Rule>,
    /// Parsed by [`crate::parse_variants`].
    pub variants: Vec<Variant>,
}

/// What a redirect needs of a live link: the part of it the redirect cache carries, with
/// the version it copies. The store reads it from the `redirect_targets` view, whose
/// columns the version trigger must watch (a test reads both from the catalog).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectTarget {
    pub url_id: i64,
    pub original_url: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub version: i64,
    /// The cap on human visits; `None`: no cap.
    pub max_visits: Option<i32>,
    /// Whether the cap's visits are used up (as of `version`: the visit that uses up the
    /// last one moves the version).
    pub visits_used_up: bool,
    pub expired_url: Option<String>,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    /// What link unfurlers are shown instead of a redirect.
    pub preview: Option<LinkPreview>,
    /// Whether visitors need the link's password (the cache never holds its hash).
    pub protected: bool,
    /// Its rules and split; `None` when it has neither (boxed: most links have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeting: Option<Box<Targeting>>,
    /// Whether its destination failed enough checks in a row to be down: meanwhile a
    /// link with an `expired_url` sends visitors there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destination_down: bool,
}

impl RedirectTarget {
    /// Roughly the bytes it holds besides its fixed part: its URLs, its preview's text, and
    /// its rules' and variants' (what an in-process cache bounded in bytes weighs).
    pub fn approximate_heap_bytes(&self) -> usize {
        let preview = self.preview.as_ref().map_or(0, |preview| {
            [&preview.title, &preview.description, &preview.image]
                .iter()
                .map(|part| part.as_ref().map_or(0, String::len))
                .sum()
        });
        self.original_url.len()
            + self.expired_url.as_ref().map_or(0, String::len)
            + preview
            + self
                .targeting
                .as_ref()
                .map_or(0, |targeting| targeting.approximate_bytes())
    }
}

/// What a short code leads to, as the store finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeLookup {
    Live(RedirectTarget),
    /// A soft-deleted link, at its last version.
    Deleted {
        version: i64,
    },
    /// No row has this code.
    Unknown,
}

/// A live user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// An event of the audit trail; `details` is always a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: String,
    pub timestamp: DateTime<Utc>,
    pub details: Value,
    /// The name of the API key whose request wrote it; `None` for clicks and imports.
    pub actor: Option<String>,
}

/// An API key made over the API, as it is listed (never its secret or digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub scope: super::Scope,
    /// The user it acts as; `None`: across users.
    pub user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When a request last came with it (written every few seconds, not per request).
    pub last_used_at: Option<DateTime<Utc>>,
}
