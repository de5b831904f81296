//! What a list may be narrowed by: the filters of the link and event lists.

/// Filters of the link list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFilter {
    pub user_id: Option<i64>,
    pub is_active: Option<bool>,
    /// Links holding every one of these tags (parsed by [`crate::parse_tag`]).
    pub tags: Vec<String>,
}

/// Filters of the event list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub url_id: Option<i64>,
    pub user_id: Option<i64>,
    pub event_type: Option<String>,
}
