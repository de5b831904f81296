//! The API's response bodies, built from what the service layer returns. Timestamps are
//! written in the API's one format here and nowhere else.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::schema::{MaxVisitsCount, RedirectStatusCode, TargetingRules, TargetingVariants};
use shortener_domain::timestamp;
use shortener_domain::{Dimension, LinkPreview};
use shortener_service::{analytics, api_keys, events, imports, links, users};

/// A short link as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-12-31T23:59:59")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub updated_at: DateTime<Utc>,
    /// The cap on human visits; null: none.
    #[schema(value_type = Option<MaxVisitsCount>)]
    pub max_visits: Option<i32>,
    /// The visits left under the cap (0 once it is used up); null without a cap.
    pub visits_left: Option<i32>,
    /// Where visitors go once the link has ended; null: it answers 410.
    pub expired_url: Option<String>,
    #[schema(value_type = RedirectStatusCode)]
    pub redirect_status: u16,
    /// Whether the visitor's query string is added to the target's.
    pub forward_query: bool,
    /// Its tags, in lower case, sorted.
    pub tags: Vec<String>,
    /// What link unfurlers are shown instead of a redirect; null: none.
    pub preview: Option<Preview>,
    /// Whether visitors need the link's password (the password is never shown).
    pub protected: bool,
    /// Its targeting rules, in order; `[]`: none.
    #[schema(value_type = TargetingRules)]
    pub rules: Value,
    /// Its split; `[]`: none.
    #[schema(value_type = TargetingVariants)]
    pub variants: Value,
    /// Its destination's health, as the checker last saw it.
    pub destination: Destination,
}

/// A link destination's health. Links clicked in the last `HEALTH_CHECK_ACTIVE_DAYS` are
/// checked every `HEALTH_CHECK_INTERVAL_SECS`; one is down after
/// `HEALTH_CHECK_DOWN_AFTER` failed checks in a row (a timeout, no connection, a 404, a
/// 410 or a 5xx), and up again after one that succeeds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Destination {
    pub status: DestinationStatus,
    /// When it was last checked; null: never.
    #[schema(example = "2026-01-31T23:59:59")]
    pub checked_at: Option<String>,
    /// The last check's answer; null: none (or never checked).
    pub status_code: Option<u16>,
    /// Why the last check failed; null: it succeeded (or never checked).
    pub error: Option<String>,
    /// Failed checks in a row.
    pub failures: u32,
    /// Since when it is down; null while it is not.
    #[schema(example = "2026-01-31T23:59:59")]
    pub down_since: Option<String>,
}

/// `unknown`: not checked yet, or not watched (not clicked lately); `up` may be failing
/// (`failures` above 0) without being down yet.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DestinationStatus {
    #[default]
    Unknown,
    Up,
    Down,
}

/// A link's custom preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
}

impl From<links::Link> for Link {
    fn from(row: links::Link) -> Self {
        let visits_left = row.visits_left();
        Self {
            id: row.id,
            user_id: row.user_id,
            short_code: row.short_code,
            original_url: row.original_url,
            title: row.title,
            is_active: row.is_active,
            expires_at: row.expires_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            max_visits: row.max_visits,
            visits_left,
            expired_url: row.expired_url,
            redirect_status: u16::try_from(row.redirect_status).unwrap_or(302),
            forward_query: row.forward_query,
            tags: row.tags,
            // The service stores only what a `LinkPreview` reads back.
            preview: row
                .preview
                .and_then(|json| serde_json::from_value::<LinkPreview>(json).ok())
                .map(|preview| Preview {
                    title: preview.title,
                    description: preview.description,
                    image: preview.image,
                }),
            protected: row.protected,
            rules: row.rules.unwrap_or_else(|| Value::Array(Vec::new())),
            variants: row.variants.unwrap_or_else(|| Value::Array(Vec::new())),
            // `destination_health_json` writes this shape.
            destination: row
                .destination
                .and_then(|json| serde_json::from_value(json).ok())
                .unwrap_or_default(),
        }
    }
}

/// A tag and how many of the key's live links hold it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub links: i64,
}

impl From<links::TagCount> for TagCount {
    fn from(row: links::TagCount) -> Self {
        Self {
            tag: row.tag,
            links: row.links,
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
}

impl From<users::User> for User {
    fn from(row: users::User) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

/// An event as the API shows it; `details` is always a JSON object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub url_id: i64,
    pub user_id: Option<i64>,
    pub event_type: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub timestamp: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub details: Value,
    /// The name of the API key whose request wrote the event; null for clicks, imports
    /// and an open API.
    pub actor: Option<String>,
}

impl From<events::Event> for Event {
    fn from(row: events::Event) -> Self {
        Self {
            id: row.id,
            url_id: row.url_id,
            user_id: row.user_id,
            event_type: row.event_type,
            timestamp: row.timestamp,
            details: row.details,
            actor: row.actor,
        }
    }
}

/// Click counts of one day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayClicks {
    #[schema(value_type = String, example = "2026-01-31")]
    pub date: NaiveDate,
    /// Click events (GET redirects) of the day.
    pub clicks: i64,
    /// Clicks by people, by bots, and previews (link unfurlers, prefetches, HEAD
    /// requests, which are counted here but stored as no click event).
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    /// Distinct human visitors of the day.
    pub unique_visitors: i64,
}

impl From<shortener_domain::DayClicks> for DayClicks {
    fn from(day: shortener_domain::DayClicks) -> Self {
        Self {
            date: day.date,
            clicks: day.clicks,
            humans: day.humans,
            bots: day.bots,
            previews: day.previews,
            unique_visitors: day.visitors,
        }
    }
}

/// Click counts of one referrer (`null`: none sent).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferrerClicks {
    pub referrer: Option<String>,
    pub clicks: i64,
}

/// A link's clicks: all-time total and last click; over the range `from`..`to` (UTC
/// days, both included), the clicks of each class, the unique visitors and each day; the
/// top referrers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkStats {
    pub url_id: i64,
    pub short_code: String,
    /// Every click event ever (all time).
    pub clicks: i64,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub last_click_at: Option<DateTime<Utc>>,
    #[schema(value_type = String, example = "2026-01-01")]
    pub from: NaiveDate,
    #[schema(value_type = String, example = "2026-01-30")]
    pub to: NaiveDate,
    /// Over the range: clicks by people, bots and previews (a HEAD counts as a preview).
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    /// Over the range: the sum of each day's distinct human visitors.
    pub unique_visitors: i64,
    /// Each day of the range, oldest first, zero-filled.
    pub clicks_by_day: Vec<DayClicks>,
    /// Over the range, the 10 keys with the most human clicks of each dimension.
    pub top_countries: Vec<KeyClicks>,
    pub top_browsers: Vec<KeyClicks>,
    pub top_oses: Vec<KeyClicks>,
    pub top_devices: Vec<KeyClicks>,
    pub top_referrer_hosts: Vec<KeyClicks>,
    /// All time: the referring hosts with the most clicks.
    pub top_referrers: Vec<ReferrerClicks>,
}

/// Clicks of one key of a dimension (`null`: unknown), and its unique human visitors.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyClicks {
    pub key: Option<String>,
    pub clicks: i64,
    pub unique_visitors: i64,
}

impl From<shortener_domain::KeyClicks> for KeyClicks {
    fn from(row: shortener_domain::KeyClicks) -> Self {
        Self {
            key: row.key,
            clicks: row.clicks,
            unique_visitors: row.visitors,
        }
    }
}

/// The top lists of the stats, in [`analytics::TOP_DIMENSIONS`] order: countries,
/// browsers, OSes, devices, referrer hosts.
fn top_lists(top_keys: Vec<(Dimension, Vec<shortener_domain::KeyClicks>)>) -> [Vec<KeyClicks>; 5] {
    let mut lists: [Vec<KeyClicks>; 5] = Default::default();
    for (dimension, rows) in top_keys {
        if let Some(i) = analytics::TOP_DIMENSIONS
            .iter()
            .position(|d| *d == dimension)
        {
            lists[i] = rows.into_iter().map(KeyClicks::from).collect();
        }
    }
    lists
}

impl From<analytics::LinkStats> for LinkStats {
    fn from(stats: analytics::LinkStats) -> Self {
        let totals = stats.range_totals;
        let [
            top_countries,
            top_browsers,
            top_oses,
            top_devices,
            top_referrer_hosts,
        ] = top_lists(stats.top_keys);
        Self {
            url_id: stats.url_id,
            short_code: stats.short_code,
            clicks: stats.clicks,
            last_click_at: stats.last_click_at,
            from: stats.range.from(),
            to: stats.range.to(),
            humans: totals.humans,
            bots: totals.bots,
            previews: totals.previews,
            unique_visitors: totals.visitors,
            clicks_by_day: stats.days.into_iter().map(DayClicks::from).collect(),
            top_countries,
            top_browsers,
            top_oses,
            top_devices,
            top_referrer_hosts,
            top_referrers: stats
                .top_referrers
                .into_iter()
                .map(|(referrer, clicks)| ReferrerClicks { referrer, clicks })
                .collect(),
        }
    }
}

/// The clicks of every link a key may read (its owner's links, or every link) over the
/// range `from`..`to` (UTC days, both included): the clicks of each class, the unique
/// visitors, each day and the top keys of each dimension (the links ranked:
/// `GET /stats/link`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeStats {
    /// Whose links: the key's owner, or `null` for every link.
    pub user_id: Option<i64>,
    #[schema(value_type = String, example = "2026-01-01")]
    pub from: NaiveDate,
    #[schema(value_type = String, example = "2026-01-30")]
    pub to: NaiveDate,
    /// Over the range: click events (a HEAD is none).
    pub clicks: i64,
    /// Over the range: clicks by people, bots and previews (a HEAD counts as a preview).
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    /// Over the range: the sum of each link's and day's distinct human visitors.
    pub unique_visitors: i64,
    /// Each day of the range, oldest first, zero-filled.
    pub clicks_by_day: Vec<DayClicks>,
    /// Over the range, the 10 keys with the most human clicks of each dimension.
    pub top_countries: Vec<KeyClicks>,
    pub top_browsers: Vec<KeyClicks>,
    pub top_oses: Vec<KeyClicks>,
    pub top_devices: Vec<KeyClicks>,
    pub top_referrer_hosts: Vec<KeyClicks>,
    /// Over the range, the 10 links with the most human clicks (`key`: the link's id), as
    /// `GET /stats/link` ranks them.
    pub top_links: Vec<KeyClicks>,
}

impl From<analytics::across_links::ScopeStats> for ScopeStats {
    fn from(stats: analytics::across_links::ScopeStats) -> Self {
        let totals = stats.range_totals;
        let [
            top_countries,
            top_browsers,
            top_oses,
            top_devices,
            top_referrer_hosts,
        ] = top_lists(stats.top_keys);
        Self {
            user_id: stats.owner,
            from: stats.range.from(),
            to: stats.range.to(),
            clicks: totals.clicks,
            humans: totals.humans,
            bots: totals.bots,
            previews: totals.previews,
            unique_visitors: totals.visitors,
            clicks_by_day: stats.days.into_iter().map(DayClicks::from).collect(),
            top_countries,
            top_browsers,
            top_oses,
            top_devices,
            top_referrer_hosts,
            top_links: stats.top_links.into_iter().map(KeyClicks::from).collect(),
        }
    }
}

/// A rejected row of an import: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Rows inserted.
    pub count: u64,
    /// Rows not inserted because their id (or another unique key) already exists.
    pub skipped: u64,
    /// Rejected rows, at most 1000 listed.
    pub errors: Vec<RowError>,
    /// How many rows were rejected in all.
    pub error_count: u64,
}

impl From<imports::ImportReport> for ImportReport {
    fn from(report: imports::ImportReport) -> Self {
        Self {
            count: report.count,
            skipped: report.skipped,
            errors: report
                .errors
                .into_iter()
                .map(|row| RowError {
                    line: row.line,
                    error: row.error,
                })
                .collect(),
            error_count: report.error_count,
        }
    }
}

/// An API key as the API lists it: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    #[schema(value_type = super::schema::ScopeName)]
    pub scope: &'static str,
    /// The user it acts as; `null`: across users.
    pub user_id: Option<i64>,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-12-31T23:59:59")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
    /// When a request last came with it, to within a few seconds; `null`: never.
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<shortener_domain::ApiKeyRecord> for ApiKey {
    fn from(record: shortener_domain::ApiKeyRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            scope: record.scope.as_str(),
            user_id: record.user_id,
            expires_at: record.expires_at,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// A key just made: its fields and, this once, its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub fields: ApiKey,
    /// The secret, for `Authorization: Bearer <key>`. Shown only here: only its SHA-256
    /// is stored.
    pub key: String,
}

impl From<api_keys::CreatedApiKey> for CreatedApiKey {
    fn from(created: api_keys::CreatedApiKey) -> Self {
        Self {
            fields: created.record.into(),
            key: created.secret,
        }
    }
}

/// A report of a link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub url_id: i64,
    #[schema(value_type = super::reports::ReportReasonName)]
    pub reason: String,
    pub comment: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
}

impl From<shortener_service::reports::Report> for Report {
    fn from(report: shortener_service::reports::Report) -> Self {
        Self {
            id: report.id,
            url_id: report.url_id,
            reason: report.reason,
            comment: report.comment,
            created_at: report.created_at,
        }
    }
}

/// What the reporter of a link is told: what was received, and no id (a public answer
/// says nothing about the link or how many reports there are).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportReceived {
    #[schema(value_type = super::reports::ReportReasonName)]
    pub reason: String,
    pub comment: Option<String>,
}

impl From<Report> for ReportReceived {
    fn from(report: Report) -> Self {
        Self {
            reason: report.reason,
            comment: report.comment,
        }
    }
}
