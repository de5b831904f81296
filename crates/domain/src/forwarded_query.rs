//! Forwarding a visitor's query string to a link's target: the visitor's parameters are
//! added after the target's, and on a clash of names the target's value is kept (the
//! owner's link decides; a visitor cannot override, say, a campaign tag). Only the query
//! of the target changes: its scheme, host and path are the owner's, so no parameter can
//! send a visitor elsewhere.

use std::collections::HashSet;

use url::form_urlencoded;

/// `target` with the parameters of `visitor_query` (a request's raw query, without `?`)
/// whose names the target's query does not have, appended in the visitor's order and as
/// the visitor wrote them. The target's fragment stays last.
pub fn forward_query(target: &str, visitor_query: &str) -> String {
    let (before_fragment, fragment) = match target.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (target, None),
    };
    let target_query = before_fragment
        .split_once('?')
        .map_or("", |(_, query)| query);
    let taken: HashSet<String> = form_urlencoded::parse(target_query.as_bytes())
        .map(|(name, _)| name.into_owned())
        .collect();
    let mut added = Vec::new();
    for pair in visitor_query.split('&').filter(|pair| !pair.is_empty()) {
        let Some((name, _)) = form_urlencoded::parse(pair.as_bytes()).next() else {
            continue;
        };
        if !name.is_empty() && !taken.contains(name.as_ref()) {
            added.push(pair);
        }
    }
    if added.is_empty() {
        return target.to_owned();
    }
    let mut url = String::with_capacity(target.len() + visitor_query.len() + 1);
    url.push_str(before_fragment);
    if !before_fragment.contains('?') {
        url.push('?');
    } else if !before_fragment.ends_with(['?', '&']) {
        url.push('&');
    }
    url.push_str(&added.join("&"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::forward_query;

    #[test]
    fn the_visitors_parameters_are_added_and_the_targets_kept_on_a_clash() {
        assert_eq!(
            forward_query("https://t.example/p?a=1&utm=x", "a=2&b=3&utm=y&c"),
            "https://t.example/p?a=1&utm=x&b=3&c"
        );
    }

    #[test]
    fn a_target_without_a_query_gets_one_before_its_fragment() {
        assert_eq!(
            forward_query("https://t.example/p#top", "b=3"),
            "https://t.example/p?b=3#top"
        );
        assert_eq!(
            forward_query("https://t.example/p?", "b=3"),
            "https://t.example/p?b=3"
        );
        assert_eq!(
            forward_query("https://t.example/p?a=1&", "b=3"),
            "https://t.example/p?a=1&b=3"
        );
    }

    #[test]
    fn names_clash_as_decoded_and_the_visitors_encoding_is_kept() {
        assert_eq!(
            forward_query("https://t.example/?a%20b=1", "a+b=2&q=x%26y"),
            "https://t.example/?a%20b=1&q=x%26y"
        );
    }

    #[test]
    fn nothing_to_add_leaves_the_target_as_it_is() {
        for query in ["", "&&", "=v", "a=9"] {
            assert_eq!(
                forward_query("https://t.example/?a=1", query),
                "https://t.example/?a=1"
            );
        }
    }

    #[test]
    fn only_the_query_changes_whatever_the_visitor_sends() {
        let out = forward_query(
            "https://t.example/p",
            "url=https://evil.example&next=//evil.example&@evil.example",
        );
        let parsed = url::Url::parse(&out).unwrap();
        assert_eq!(parsed.host_str(), Some("t.example"));
        assert_eq!(parsed.path(), "/p");
    }
}
