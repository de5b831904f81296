//! The character classes the text rules use, kept as ranges so that the same list is
//! both the Rust check and the regex class the published OpenAPI patterns contain.

/// `char::is_whitespace` (Unicode `White_Space`), as ranges.
pub const WHITESPACE: &[(char, char)] = &[
    ('\u{9}', '\u{D}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{A0}', '\u{A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// `char::is_control` (general category `Cc`), as ranges.
pub const CONTROL: &[(char, char)] = &[('\u{0}', '\u{1F}'), ('\u{7F}', '\u{9F}')];

/// A text with no NUL and a character that is not whitespace, as a regex: the rule of
/// event types, lock reasons and report comments (their lengths are stated apart).
pub fn not_blank_pattern() -> String {
    let space = regex_class(WHITESPACE);
    format!("^[^\\x00]*[^\\x00{space}][^\\x00]*$")
}

/// The inside of a regex character class (`[...]` without the brackets) holding exactly
/// `ranges`, written with `\xHH` and `\uHHHH` escapes only, which ECMA-262 (what OpenAPI
/// patterns are), Python's `re` (what schemathesis generates from) and Rust's `regex`
/// all read the same way.
pub fn regex_class(ranges: &[(char, char)]) -> String {
    let mut class = String::new();
    for &(first, last) in ranges {
        class.push_str(&escape(first));
        if last != first {
            class.push('-');
            class.push_str(&escape(last));
        }
    }
    class
}

fn escape(c: char) -> String {
    let code = u32::from(c);
    assert!(
        code <= 0xFFFF,
        "only the Basic Multilingual Plane is written"
    );
    if code <= 0xFF {
        format!("\\x{code:02X}")
    } else {
        format!("\\u{code:04X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
        ranges
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
    }

    #[test]
    fn the_ranges_are_exactly_the_standard_library_predicates() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(in_ranges(WHITESPACE, c), c.is_whitespace(), "{c:?}");
            assert_eq!(in_ranges(CONTROL, c), c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn classes_are_written_with_portable_escapes() {
        assert_eq!(regex_class(CONTROL), r"\x00-\x1F\x7F-\x9F");
        assert!(regex_class(WHITESPACE).starts_with(r"\x09-\x0D\x20\x85\xA0\u1680"));
    }
}
