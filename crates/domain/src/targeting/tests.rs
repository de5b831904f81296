use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;

/// A visitor whose facts are given, counting what it was asked.
#[derive(Default)]
struct Known {
    device: Option<&'static str>,
    os: Option<&'static str>,
    browser: Option<&'static str>,
    country: Option<&'static str>,
    language: Option<&'static str>,
    query: Vec<(&'static str, &'static str)>,
    now: Option<DateTime<Utc>>,
    asked_country: usize,
}

impl VisitorFacts for Known {
    fn device(&mut self) -> Option<&str> {
        self.device
    }
    fn os(&mut self) -> Option<&str> {
        self.os
    }
    fn browser(&mut self) -> Option<&str> {
        self.browser
    }
    fn country(&mut self) -> Option<&str> {
        self.asked_country += 1;
        self.country
    }
    fn language(&mut self) -> Option<&str> {
        self.language
    }
    fn has_query(&mut self, name: &str, values: &[String]) -> bool {
        self.query
            .iter()
            .any(|(n, v)| *n == name && values.iter().any(|value| value == v))
    }
    fn now(&self) -> DateTime<Utc> {
        self.now
            .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap())
    }
}

fn rules(value: serde_json::Value) -> Vec<Rule> {
    parse_rules(serde_json::from_value(value).unwrap()).unwrap()
}

fn refused(value: serde_json::Value) -> String {
    parse_rules(serde_json::from_value(value).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn rules_are_stored_normalised_in_the_shape_sent() {
    let parsed = rules(json!([
        {"if": {"device": "Mobile", "os": ["iOS", "Windows-Phone"], "country": ["nl", "BE"],
                "language": "pt-BR", "browser": "Samsung Internet",
                "query": {"utm_source": "news"}},
         "url": "https://example.com/m"},
        {"if": {}, "url": "https://example.com/all"}
    ]));
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        json!([
            {"if": {"device": "mobile", "os": ["ios", "windows phone"], "country": ["NL", "BE"],
                    "language": "pt-br", "browser": "samsung internet",
                    "query": {"utm_source": "news"}},
             "url": "https://example.com/m"},
            {"if": {}, "url": "https://example.com/all"}
        ])
    );
}

#[test]
fn bad_conditions_are_named_by_their_path() {
    assert!(
        refused(json!([{"if": {"device": "phone"}, "url": "https://e.example"}]))
            .starts_with("rules.0.if.device: a device is one of mobile, tablet, desktop")
    );
    assert!(
        refused(json!([{"if": {}, "url": "https://e.example"},
                       {"if": {"country": ["NL", "NLD"]}, "url": "https://e.example"}]))
        .starts_with("rules.1.if.country:")
    );
    assert!(
        refused(json!([{"if": {"os": []}, "url": "https://e.example"}]))
            .starts_with("rules.0.if.os: a list of 1 to")
    );
    assert!(
        refused(json!([{"if": {"language": "english!"}, "url": "https://e.example"}]))
            .starts_with("rules.0.if.language:")
    );
    assert!(
        refused(json!([{"if": {"query": {}}, "url": "https://e.example"}]))
            .starts_with("rules.0.if.query:")
    );
    assert!(refused(json!([{"if": {}, "url": "javascript:alert(1)"}])).starts_with("rules.0.url:"));
    let many: Vec<_> = (0..=MAX_RULES)
        .map(|_| json!({"if": {}, "url": "https://e.example"}))
        .collect();
    assert!(refused(json!(many)).starts_with("rules: at most"));
    assert!(
        serde_json::from_value::<Vec<Rule>>(
            json!([{"if": {"ip": "1.2.3.4"}, "url": "https://e.example"}])
        )
        .is_err(),
        "an unknown condition is refused, not ignored"
    );
}

#[test]
fn the_first_rule_that_holds_wins_else_the_split_else_the_target() {
    let rules = rules(json!([
        {"if": {"device": "mobile", "country": "NL"}, "url": "https://e.example/nl-mobile"},
        {"if": {"language": "en"}, "url": "https://e.example/en"},
        {"if": {"query": {"ref": ["a", "b"]}}, "url": "https://e.example/ref"}
    ]));
    let variants = parse_variants(vec![
        Variant {
            url: "https://e.example/a".into(),
            weight: 70,
        },
        Variant {
            url: "https://e.example/b".into(),
            weight: 30,
        },
    ])
    .unwrap();
    let both = Targeting::of(rules.clone(), variants).unwrap();
    let mut dutch_phone = Known {
        device: Some("mobile"),
        country: Some("NL"),
        language: Some("en-gb"),
        ..Known::default()
    };
    assert_eq!(
        both.choose(&mut dutch_phone, || unreachable!()),
        TargetChoice::Rule(0)
    );
    let mut british_desktop = Known {
        device: Some("desktop"),
        country: Some("GB"),
        language: Some("en-gb"),
        ..Known::default()
    };
    assert_eq!(
        both.choose(&mut british_desktop, || 0),
        TargetChoice::Rule(1)
    );
    assert_eq!(
        british_desktop.asked_country, 0,
        "a rule stops at its first condition that does not hold"
    );
    let mut referred = Known {
        query: vec![("ref", "b")],
        ..Known::default()
    };
    assert_eq!(both.choose(&mut referred, || 0), TargetChoice::Rule(2));
    let mut anyone = Known::default();
    assert_eq!(
        both.choose(&mut anyone, || u64::MAX),
        TargetChoice::Variant(1)
    );
    let rules_only = Targeting::of(rules, Vec::new()).unwrap();
    assert_eq!(rules_only.choose(&mut anyone, || 0), TargetChoice::Target);
    assert_eq!(Targeting::of(Vec::new(), Vec::new()), None);
    assert_eq!(
        both.url(TargetChoice::Rule(2)),
        Some("https://e.example/ref")
    );
    assert_eq!(both.url(TargetChoice::Target), None);
    assert_eq!(
        both.url(TargetChoice::Variant(1)),
        Some("https://e.example/b")
    );
    assert_eq!(rules_only.url(TargetChoice::Variant(0)), None);
}

#[test]
fn language_holds_for_its_regions_and_names_fold_case_and_spaces() {
    let rules = rules(json!([
        {"if": {"language": "en", "os": "macOS", "browser": "internet explorer"},
         "url": "https://e.example"}
    ]));
    let mut visitor = Known {
        language: Some("en-us"),
        os: Some("macOS"),
        browser: Some("Internet Explorer"),
        ..Known::default()
    };
    assert!(rules[0].conditions.hold(&mut visitor));
    visitor.language = Some("eng");
    assert!(!rules[0].conditions.hold(&mut visitor), "en is not eng");
    let regional = self::rules(json!([{"if": {"language": "en-GB"}, "url": "https://e.example"}]));
    visitor.language = Some("en");
    assert!(!regional[0].conditions.hold(&mut visitor));
    visitor.language = Some("en-gb");
    assert!(regional[0].conditions.hold(&mut visitor));
}

#[test]
fn a_time_window_holds_from_after_until_before() {
    let rules = rules(json!([
        {"if": {"after": "2026-12-01T00:00:00Z", "before": "2026-12-08T00:00:00Z"},
         "url": "https://e.example"}
    ]));
    let at = |day, hour| Known {
        now: Some(Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()),
        ..Known::default()
    };
    assert!(rules[0].conditions.hold(&mut at(1, 0)));
    assert!(rules[0].conditions.hold(&mut at(7, 23)));
    assert!(!rules[0].conditions.hold(&mut at(8, 0)));
    assert!(!rules[0].conditions.hold(&mut Known {
        now: Some(Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap()),
        ..Known::default()
    }));
}

#[test]
fn a_split_gives_each_variant_its_share_of_points() {
    let variants = parse_variants(vec![
        Variant {
            url: "https://e.example/a".into(),
            weight: 7,
        },
        Variant {
            url: "https://e.example/b".into(),
            weight: 2,
        },
        Variant {
            url: "https://e.example/c".into(),
            weight: 1,
        },
    ])
    .unwrap();
    let mut counts = [0u32; 3];
    let steps = 10_000u64;
    let width = u64::MAX / steps;
    for step in 0..steps {
        counts[split_index(&variants, step * width + width / 2)] += 1;
    }
    assert_eq!(counts, [7_000, 2_000, 1_000]);
    assert_eq!(split_index(&variants, u64::MAX), 2);
}

#[test]
fn splits_have_two_to_ten_variants_of_weight_one_or_more() {
    let variant = |weight| Variant {
        url: "https://e.example".into(),
        weight,
    };
    assert_eq!(parse_variants(vec![]), Ok(vec![]));
    assert!(parse_variants(vec![variant(1)]).is_err());
    assert!(parse_variants(vec![variant(1); MAX_VARIANTS + 1]).is_err());
    assert_eq!(
        parse_variants(vec![variant(1), variant(0)])
            .unwrap_err()
            .path,
        "variants.1.weight"
    );
    assert!(parse_variants(vec![variant(1), variant(MAX_WEIGHT + 1)]).is_err());
}

#[test]
fn choices_are_named_by_their_path_and_read_back() {
    for choice in [
        TargetChoice::Target,
        TargetChoice::Rule(0),
        TargetChoice::Rule(19),
        TargetChoice::Variant(9),
    ] {
        assert_eq!(choice.to_string().parse(), Ok(choice));
    }
    assert_eq!(TargetChoice::Variant(1).to_string(), "variants.1");
    for bad in ["", "rule.1", "rules.", "rules.x", "variants.-1", "targets"] {
        assert!(bad.parse::<TargetChoice>().is_err(), "{bad}");
    }
}

#[test]
fn the_preferred_language_is_the_heaviest_valid_tag() {
    assert_eq!(
        preferred_language("fr;q=0.5, en-US, de;q=0.9").as_deref(),
        Some("en-us")
    );
    assert_eq!(preferred_language("*, x-klingon, en;q=0").as_deref(), None);
    assert_eq!(preferred_language("").as_deref(), None);
}

#[test]
fn a_query_condition_compares_decoded_values() {
    let values = ["spring sale".to_owned(), "b".to_owned()];
    assert!(query_has("x=1&utm=spring+sale", "utm", &values));
    assert!(query_has("utm=spring%20sale", "utm", &values));
    assert!(query_has("utm=a&utm=b", "utm", &values));
    assert!(!query_has("utm=c", "utm", &values));
    assert!(
        !query_has("UTM=b", "utm", &values),
        "names are compared as sent"
    );
    assert!(!query_has("", "utm", &values));
}

#[test]
fn a_weight_is_a_whole_number_written_either_way() {
    let read = |weight: serde_json::Value| {
        serde_json::from_value::<Variant>(json!({"url": "https://e.example", "weight": weight}))
            .map(|variant| variant.weight)
    };
    assert_eq!(read(json!(70)).unwrap(), 70);
    assert_eq!(read(json!(70.0)).unwrap(), 70);
    for bad in [json!(70.5), json!(-1), json!("70"), json!(1e12)] {
        assert!(read(bad.clone()).is_err(), "{bad}");
    }
}
