//! A/B splits: each visitor goes to one variant in proportion to the weights and keeps it
//! on every replica that shares the visitor key, with no cookie; which rule or variant
//! answered is in the click event and in the `variant` stats dimension.

use super::*;
use crate::analytics::{CHROME, shared_key_settings, visit_from};
use crate::helpers::bodies::KeyClicks;

const VISITORS: usize = 2_000;

/// Where a GET of `code` from `peer` by Chrome is sent.
async fn location(app: &TestApp, peer: &str, code: &str) -> String {
    let response = visit_from(app, peer, Method::GET, code, &[("user-agent", CHROME)]).await;
    assert_eq!(response.status, StatusCode::FOUND);
    response.header("location").unwrap().to_owned()
}

/// The `n`th synthetic visitor's address.
fn visitor(n: usize) -> String {
    format!("2001:db8::{:x}:{:x}", n / 0x1_0000 + 1, n % 0x1_0000)
}

#[sqlx::test]
async fn a_70_30_split_over_2000_visitors_is_within_5_points_and_each_keeps_their_variant_on_either_replica(
    pool: PgPool,
) {
    let a = TestApp::with_settings(pool.clone(), shared_key_settings());
    let b = TestApp::with_settings(pool, shared_key_settings());
    let link = a
        .create_link(json!({
            "original_url": "https://example.com/control",
            "variants": [
                {"url": "https://example.com/a", "weight": 70},
                {"url": "https://example.com/b", "weight": 30},
            ]
        }))
        .await;
    let code = link.short_code.as_str();
    let mut to_a = 0;
    for n in 0..VISITORS {
        let peer = visitor(n);
        let first = location(&a, &peer, code).await;
        assert_eq!(
            location(&b, &peer, code).await,
            first,
            "visitor {n} got another variant on the other replica"
        );
        match first.as_str() {
            "https://example.com/a" => to_a += 1,
            "https://example.com/b" => {}
            other => panic!("a split's visitor went to {other}"),
        }
    }
    let share = to_a as f64 / VISITORS as f64;
    assert!(
        (0.65..=0.75).contains(&share),
        "{to_a} of {VISITORS} visitors to the 70% variant"
    );
}

#[sqlx::test]
async fn which_rule_or_variant_answered_is_in_the_click_event_and_the_variant_stats(pool: PgPool) {
    let app = TestApp::with_settings(pool, shared_key_settings());
    let link = app
        .create_link(json!({
            "original_url": "https://example.com/control",
            "rules": [{"if": {"language": "nl"}, "url": "https://example.com/nl"}],
            "variants": [
                {"url": "https://example.com/a", "weight": 1},
                {"url": "https://example.com/b", "weight": 1},
            ]
        }))
        .await;
    let plain = app
        .create_link(json!({
            "original_url": "https://example.com/plain",
            "rules": [{"if": {"language": "nl"}, "url": "https://example.com/nl"}]
        }))
        .await;
    let dutch = [("user-agent", CHROME), ("accept-language", "nl-BE")];
    let mut expected: std::collections::BTreeMap<String, i64> = Default::default();
    for n in 0..40 {
        let peer = visitor(n);
        let headers: &[(&str, &str)] = if n % 4 == 0 {
            &dutch
        } else {
            &[("user-agent", CHROME)]
        };
        let response = visit_from(&app, &peer, Method::GET, &link.short_code, headers).await;
        let key = match response.header("location").unwrap() {
            "https://example.com/nl" => "rules.0",
            "https://example.com/a" => "variants.0",
            "https://example.com/b" => "variants.1",
            other => panic!("sent to {other}"),
        };
        *expected.entry(key.to_owned()).or_default() += 1;
    }
    visit_from(
        &app,
        "2001:db8::1",
        Method::GET,
        &plain.short_code,
        &[("user-agent", CHROME)],
    )
    .await;
    assert_eq!(expected["rules.0"], 10);
    assert!(
        expected["variants.0"] > 0 && expected["variants.1"] > 0,
        "{expected:?}"
    );

    app.clicks().flush().await;
    let mut recorded: std::collections::BTreeMap<String, i64> = Default::default();
    for event in app.events_of_type(link.id, "click").await {
        *recorded
            .entry(event.details["variant"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(recorded, expected, "the click events name the answer");
    let plain_events = app.events_of_type(plain.id, "click").await;
    assert_eq!(plain_events[0].details["variant"], "target");

    let rows: Vec<KeyClicks> = app
        .get(&format!("/urls/{}/stats/variant", link.id))
        .await
        .body();
    let counted: std::collections::BTreeMap<String, i64> = rows
        .into_iter()
        .map(|row| (row.key.unwrap(), row.clicks))
        .collect();
    assert_eq!(counted, expected, "the variant dimension counts them");
    // A plain link's clicks name no variant.
    let untargeted = app.shorten("https://example.com/untargeted").await;
    visit(&app, &untargeted.short_code, "").await;
    app.clicks().flush().await;
    let event = &app.events_of_type(untargeted.id, "click").await[0];
    assert!(event.details.get("variant").is_none(), "{}", event.details);
    let rows: Vec<KeyClicks> = app
        .get(&format!("/urls/{}/stats/variant", untargeted.id))
        .await
        .body();
    assert!(rows.is_empty(), "{rows:?}");
    // Across links, variants are no dimension: each link's are its own.
    app.get("/stats/variant")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
}
