//! The rules of a link's tags: short names, compared and kept in lower case, at most
//! [`MAX_TAGS`] a link, kept sorted and distinct.

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// Most tags on one link.
pub const MAX_TAGS: usize = 20;

/// A tag as the published schema states it (any case; kept in lower case).
pub const TAG_PATTERN: &str = "^[A-Za-z0-9_.-]{1,32}$";

/// Why a tag or a list of tags is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("each tag must be 1 to {MAX_TAG_CHARS} letters, digits, '_', '.' or '-': {0:?} is not")]
    Tag(String),
    #[error("at most {MAX_TAGS} tags a link")]
    TooMany,
}

/// One tag, in lower case.
pub fn parse_tag(raw: &str) -> Result<String, TagError> {
    let fits = (1..=MAX_TAG_CHARS).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if fits {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(TagError::Tag(raw.chars().take(MAX_TAG_CHARS + 8).collect()))
    }
}

/// A link's tags: each one parsed, then sorted and without repeats.
pub fn parse_tags<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, TagError> {
    let mut tags = raw
        .iter()
        .map(|tag| parse_tag(tag.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(TagError::TooMany);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lower_cased_sorted_and_distinct() {
        assert_eq!(
            parse_tags(&["Sale", "q4", "sale", "a.b-c_d"]).unwrap(),
            ["a.b-c_d", "q4", "sale"]
        );
        assert_eq!(parse_tags::<&str>(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bad_tags_and_too_many_are_refused() {
        for bad in ["", "has space", "é", "a/b", &"x".repeat(MAX_TAG_CHARS + 1)] {
            assert!(matches!(parse_tag(bad), Err(TagError::Tag(_))), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_TAGS).map(|n| format!("t{n}")).collect();
        assert_eq!(parse_tags(&many), Err(TagError::TooMany));
        let repeated: Vec<&str> = vec!["same"; MAX_TAGS + 5];
        assert_eq!(parse_tags(&repeated).unwrap(), ["same"]);
    }
}
