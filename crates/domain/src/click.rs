//! A followed redirect, as the click pipeline records it.

use chrono::{DateTime, Utc};

use crate::{Intent, TargetChoice};

/// Longest referrer, user agent or language list kept, in characters.
pub const MAX_HEADER_CHARS: usize = 512;

/// One followed redirect. The client's address is never part of it: the intake turns the
/// address into [`Click::country`] and [`Click::visitor`] before a click is batched, so
/// it reaches neither the spill nor the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Click {
    pub url_id: i64,
    pub at: DateTime<Utc>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// The `Accept-Language` header as sent.
    pub accept_language: Option<String>,
    pub intent: Intent,
    /// The client's country (ISO 3166-1 alpha-2), when the GeoIP database knows it.
    pub country: Option<String>,
    /// The day's visitor id: a keyed hash of the client's address, user agent and link.
    pub visitor: Option<i64>,
    /// Which rule or variant of a targeted link answered (`None`: the link has neither).
    pub variant: Option<TargetChoice>,
}

/// Cuts a header value to [`MAX_HEADER_CHARS`] characters.
pub fn truncate_header(value: &str) -> String {
    value.chars().take(MAX_HEADER_CHARS).collect()
}
