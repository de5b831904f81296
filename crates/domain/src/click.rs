//! A followed redirect, as the click pipeline records it.

use chrono::{DateTime, Utc};

/// Longest referrer or user agent kept, in characters.
pub const MAX_HEADER_CHARS: usize = 512;

/// One followed redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub url_id: i64,
    pub at: DateTime<Utc>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
}

/// Cuts a header value to [`MAX_HEADER_CHARS`] characters.
pub fn truncate_header(value: &str) -> String {
    value.chars().take(MAX_HEADER_CHARS).collect()
}
