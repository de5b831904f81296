//! The domain's parsers and the CSV rows under generated input.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use shortener_domain::{
    ApiKeys, EMAIL_PATTERN, Email, EventType, FUTURE_EXPIRY_PATTERN, LinkPolicy, MAX_EMAIL_CHARS,
    MAX_EVENT_TYPE_CHARS, MAX_OFFSET, MAX_PAGE, MAX_PER_PAGE, MAX_TITLE_CHARS, MAX_URL_CHARS,
    MAX_USERNAME_CHARS, Page, RESERVED_CODES, SERVICE_EVENT_TYPES, Scope, ShortCode,
    TARGET_URL_PATTERN, TITLE_PATTERN, TargetUrl, Title, Username, api_key_file_line,
    parse_future_expiry, timestamp,
};

/// Text that is mostly plausible for a field, often not: ASCII, punctuation, controls,
/// non-ASCII letters and emoji.
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "[A-Za-z0-9_.:/?#@%&=+-]{0,60}",
        "(https?|ftp|javascript|HTTP)://[a-zé.\\-]{0,20}(:[0-9]{1,6})?(/[^ ]{0,20})?",
        "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}[T ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(Z|[+-][0-9]{2}:[0-9]{2})?",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn short_codes_accept_exactly_the_documented_alphabet(raw in field_text()) {
        let well_formed = ShortCode::is_well_formed(&raw);
        if let Ok(code) = ShortCode::parse(&raw) {
            prop_assert_eq!(code.as_str(), raw.as_str());
            prop_assert!(well_formed);
            prop_assert!((3..=32).contains(&raw.len()));
            prop_assert!(raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            prop_assert!(!RESERVED_CODES.iter().any(|r| r.eq_ignore_ascii_case(&raw)));
        }
    }

    #[test]
    fn every_code_of_the_alphabet_that_is_not_reserved_parses(raw in "[A-Za-z0-9_-]{3,32}") {
        let reserved = RESERVED_CODES.iter().any(|r| r.eq_ignore_ascii_case(&raw));
        prop_assert_eq!(ShortCode::parse(&raw).is_ok(), !reserved);
    }

    #[test]
    fn accepted_urls_are_absolute_http_and_fit_a_location_header(raw in field_text()) {
        if let Ok(url) = TargetUrl::parse(&raw) {
            let lower = url.as_str().to_ascii_lowercase();
            prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"));
            prop_assert!(url.as_str().chars().count() <= 2048);
            prop_assert!(!url.as_str().chars().any(char::is_whitespace));
            let location = TargetUrl::for_location(url.as_str());
            prop_assert!(location.is_ascii());
            prop_assert!(axum::http::HeaderValue::from_str(&location).is_ok());
            // The link policy takes any accepted URL without panicking.
            let policy = LinkPolicy::new(["example.com"], ["sho.rt"]).unwrap();
            let _ = policy.check(&url, Some(&raw));
        }
    }

    #[test]
    fn written_timestamps_read_back(seconds in -62_135_596_800_i64..253_402_300_799) {
        let at: DateTime<Utc> = Utc.timestamp_opt(seconds, 0).unwrap();
        prop_assert_eq!(timestamp::parse(&timestamp::format(&at)), Ok(at));
    }

    #[test]
    fn timestamps_never_panic_and_keep_four_digit_years(raw in field_text()) {
        if let Ok(at) = timestamp::parse(&raw) {
            prop_assert!((1..=9999).contains(&chrono::Datelike::year(&at)));
        }
    }

    #[test]
    fn pages_stay_within_their_bounds(
        page in proptest::option::of(field_text()),
        per_page in proptest::option::of(prop_oneof![field_text(), (0u32..2000).prop_map(|n| n.to_string())]),
        after in proptest::option::of(prop_oneof![field_text(), any::<i64>().prop_map(|n| n.to_string())]),
    ) {
        if let Ok(parsed) = Page::parse(page.as_deref(), per_page.as_deref(), after.as_deref()) {
            prop_assert!((1..=i64::from(MAX_PER_PAGE)).contains(&parsed.limit()));
            prop_assert!(parsed.offset() >= 0 && parsed.offset() <= MAX_OFFSET as i64);
            prop_assert!(parsed.after().is_none_or(|id| id >= 0));
        }
    }

    #[test]
    fn every_allowed_page_is_accepted(per_page in 1u32..=1000, page_seed in any::<u32>()) {
        let page = u64::from(page_seed % MAX_PAGE) + 1;
        let parsed = Page::parse(Some(&page.to_string()), Some(&per_page.to_string()), None).unwrap();
        prop_assert_eq!(parsed.limit(), i64::from(per_page));
        prop_assert_eq!(parsed.offset() as u64, (page - 1) * u64::from(per_page));
    }

    #[test]
    fn names_emails_and_titles_never_panic(raw in field_text()) {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(email.as_str().contains('@'));
        }
        let _ = Username::parse(&raw);
        if let Ok(Some(title)) = Title::parse(&raw) {
            prop_assert!(title.as_str().chars().count() <= shortener_domain::MAX_TITLE_CHARS);
        }
    }

    #[test]
    fn key_files_never_panic_and_generated_lines_authenticate(
        text in field_text(),
        name in "[A-Za-z0-9_.-]{1,64}",
        secret in "[!-~]{1,80}",
        scope in prop_oneof![Just(Scope::Read), Just(Scope::Write), Just(Scope::Admin)],
    ) {
        let _ = ApiKeys::from_config(Some(&text), Some(&text));
        let keys = ApiKeys::from_config(None, Some(&api_key_file_line(&name, scope, &secret))).unwrap();
        let key = keys.authenticate(&secret).unwrap();
        prop_assert_eq!(key.name(), name.as_str());
        prop_assert!(key.grants(scope));
        prop_assert!(Scope::ALL.iter().all(|s| key.grants(*s) == (*s <= scope)));
    }

    // What /openapi.json publishes (src/http/schema.rs) must be a promise: every text a
    // published pattern matches, within the published lengths, is accepted. (The
    // reverse is schemathesis's negative phase, run by scripts/check-openapi.)

    #[test]
    fn every_url_the_schema_allows_is_accepted(raw in published(TARGET_URL_PATTERN)) {
        prop_assume!(raw.chars().count() <= MAX_URL_CHARS);
        let url = TargetUrl::parse(&raw);
        prop_assert!(url.is_ok(), "{raw:?}: {url:?}");
        // By the link policy too, as a service with no blocklist has it.
        let checked = LinkPolicy::default().check(&url.unwrap(), None);
        prop_assert!(checked.is_ok(), "{raw:?}: {checked:?}");
    }

    #[test]
    fn every_email_the_schema_allows_is_accepted(raw in published(EMAIL_PATTERN)) {
        prop_assume!(raw.chars().count() <= MAX_EMAIL_CHARS);
        prop_assert!(Email::parse(&raw).is_ok(), "{raw:?}");
    }

    #[test]
    fn every_username_the_schema_allows_is_accepted(raw in published(&Username::pattern())) {
        prop_assume!(raw.chars().count() <= MAX_USERNAME_CHARS);
        prop_assert!(Username::parse(&raw).is_ok(), "{raw:?}");
    }

    #[test]
    fn every_event_type_the_schema_allows_is_accepted(raw in published(&EventType::pattern())) {
        prop_assume!(raw.chars().count() <= MAX_EVENT_TYPE_CHARS);
        // The service's own types, which the schema's description names (a pattern
        // without look-ahead cannot leave out four words).
        prop_assume!(!SERVICE_EVENT_TYPES.contains(&raw.trim()));
        prop_assert!(EventType::parse(&raw).is_ok(), "{raw:?}");
    }

    #[test]
    fn every_title_the_schema_allows_is_accepted(raw in published(TITLE_PATTERN)) {
        prop_assume!(raw.chars().count() <= MAX_TITLE_CHARS);
        prop_assert!(Title::parse(&raw).is_ok(), "{raw:?}");
    }

    #[test]
    fn every_expiry_the_schema_allows_is_accepted_now(raw in published(FUTURE_EXPIRY_PATTERN)) {
        prop_assert!(parse_future_expiry(&raw, Utc::now()).is_ok(), "{raw:?}");
    }
}

/// Destinations the default link policy refuses are outside the published pattern, which
/// the generated texts above would almost never show (nine given letters of a TLD).
#[test]
fn the_published_url_pattern_matches_no_refused_destination() {
    let pattern = regex::Regex::new(TARGET_URL_PATTERN).unwrap();
    for refused in [
        "http://localhost/",
        "http://a.localhost/",
        "https://app.LOCALHOST:8080/x",
        "http://a.localhost./",
        "http://127.0.0.1/",
        "http://0x7f.1/",
        "http://[::1]/",
        "https://user@example.com/",
    ] {
        assert!(!pattern.is_match(refused), "{refused}");
        let refused_by_us = TargetUrl::parse(refused)
            .map(|url| LinkPolicy::default().check(&url, None).is_err())
            .unwrap_or(true);
        assert!(refused_by_us, "{refused} is accepted");
    }
    for allowed in [
        "https://example.com/",
        "https://a.b.example/p?q=1#f",
        "https://shop.photography/",
        "https://x.localhosts/",
    ] {
        assert!(pattern.is_match(allowed), "{allowed}");
    }
}

/// Texts matching a published pattern (anchors dropped: the generator matches whole).
fn published(pattern: &str) -> impl Strategy<Value = String> {
    let whole = pattern.trim_start_matches('^').trim_end_matches('$');
    proptest::string::string_regex(whole).expect("a published pattern proptest can read")
}
