//! A link's partial update: which fields a `PUT` changes, and writing them into the
//! stored link, each that really changed named with its new value for its event.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use shortener_domain::{
    Link, LinkPassword, LinkPreview, RedirectStatus, Rule, TargetUrl, Title, Variant, timestamp,
};

/// A partial update: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct LinkChanges {
    pub original_url: Option<TargetUrl>,
    pub title: Option<Option<Title>>,
    pub is_active: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub max_visits: Option<Option<i32>>,
    pub expired_url: Option<Option<TargetUrl>>,
    pub redirect_status: Option<RedirectStatus>,
    pub forward_query: Option<bool>,
    /// The whole new list (parsed by `parse_tags`).
    pub tags: Option<Vec<String>>,
    pub preview: Option<Option<LinkPreview>>,
    /// A new password (`Some(None)`: none).
    pub password: Option<Option<LinkPassword>>,
    /// The whole new list of rules (parsed by `parse_rules`; empty: none).
    pub rules: Option<Vec<Rule>>,
    /// The whole new split (parsed by `parse_variants`; empty: none).
    pub variants: Option<Vec<Variant>>,
}

/// Writes the requested values into `link`, returning each field that really changed
/// with its new value as the API shows it.
pub(crate) fn apply_changes(link: &mut Link, changes: LinkChanges) -> Vec<(&'static str, Value)> {
    let mut changed = Vec::new();
    if let Some(url) = changes.original_url
        && url.as_str() != link.original_url
    {
        link.original_url = url.as_str().to_owned();
        changed.push(("original_url", json!(link.original_url)));
    }
    if let Some(title) = changes.title {
        let title = title.map(Title::into_string);
        if title != link.title {
            link.title = title;
            changed.push(("title", json!(link.title)));
        }
    }
    if let Some(is_active) = changes.is_active
        && is_active != link.is_active
    {
        link.is_active = is_active;
        changed.push(("is_active", json!(is_active)));
    }
    if let Some(expires_at) = changes.expires_at
        && expires_at != link.expires_at
    {
        link.expires_at = expires_at;
        changed.push((
            "expires_at",
            json!(expires_at.as_ref().map(timestamp::format)),
        ));
    }
    if let Some(max_visits) = changes.max_visits
        && max_visits != link.max_visits
    {
        link.max_visits = max_visits;
        changed.push(("max_visits", json!(max_visits)));
    }
    if let Some(fallback) = changes.expired_url {
        let fallback = fallback.map(|url| url.as_str().to_owned());
        if fallback != link.expired_url {
            link.expired_url = fallback;
            changed.push(("expired_url", json!(link.expired_url)));
        }
    }
    if let Some(status) = changes.redirect_status
        && i32::from(status.code()) != i32::from(link.redirect_status)
    {
        link.redirect_status = i16::try_from(status.code()).unwrap_or(302);
        changed.push(("redirect_status", json!(status.code())));
    }
    if let Some(forward_query) = changes.forward_query
        && forward_query != link.forward_query
    {
        link.forward_query = forward_query;
        changed.push(("forward_query", json!(forward_query)));
    }
    if let Some(preview) = changes.preview {
        let preview = preview.map(|preview| json!(preview));
        if preview != link.preview {
            link.preview = preview;
            changed.push(("preview", json!(link.preview)));
        }
    }
    if let Some(tags) = changes.tags
        && tags != link.tags
    {
        link.tags = tags;
        changed.push(("tags", json!(link.tags)));
    }
    if let Some(rules) = changes.rules {
        let rules = (!rules.is_empty()).then(|| json!(rules));
        if rules != link.rules {
            link.rules = rules;
            changed.push(("rules", link.rules.clone().unwrap_or_else(|| json!([]))));
        }
    }
    if let Some(variants) = changes.variants {
        let variants = (!variants.is_empty()).then(|| json!(variants));
        if variants != link.variants {
            link.variants = variants;
            changed.push((
                "variants",
                link.variants.clone().unwrap_or_else(|| json!([])),
            ));
        }
    }
    changed
}
