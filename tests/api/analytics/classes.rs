//! People, bots and previews told apart, in the events and in the stats.

use axum::http::Method;
use serde_json::Value;
use sqlx::PgPool;

use super::{CHROME, fold, shared_key_settings, stats, visit_from};
use crate::helpers::TestApp;

const SLACK: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

#[sqlx::test]
async fn a_person_a_bot_and_previews_are_told_apart_and_every_sum_agrees(pool: PgPool) {
    let app = TestApp::with_settings(pool.clone(), shared_key_settings());
    let link = app.shorten("https://example.com/launch").await;
    let code = link.short_code.as_str();
    let peer = "203.0.113.10";
    visit_from(&app, peer, Method::GET, code, &[("user-agent", CHROME)]).await;
    visit_from(&app, peer, Method::GET, code, &[("user-agent", SLACK)]).await;
    visit_from(&app, peer, Method::GET, code, &[("user-agent", GOOGLEBOT)]).await;
    // A browser's HEAD and its prefetch are previews, whatever the agent.
    visit_from(&app, peer, Method::HEAD, code, &[("user-agent", CHROME)]).await;
    visit_from(
        &app,
        peer,
        Method::GET,
        code,
        &[("user-agent", CHROME), ("sec-purpose", "prefetch")],
    )
    .await;

    let details: Vec<Value> = app
        .events_of_type(link.id, "click")
        .await
        .into_iter()
        .map(|event| event.details)
        .collect();
    let classes: Vec<(&str, &str)> = details
        .iter()
        .map(|d| (d["class"].as_str().unwrap(), d["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        classes,
        [
            ("human", "browser"),
            ("preview", "unfurler:slack"),
            ("bot", "crawler"),
            ("preview", "prefetch"),
        ],
        "one event per GET, none for the HEAD: {details:?}"
    );
    assert_eq!(details[0]["browser"], "Chrome");
    assert_eq!(details[0]["os"], "Windows");
    assert_eq!(details[0]["device"], "desktop");

    for folded in [false, true] {
        if folded {
            fold(&app).await;
        }
        let stats = stats(&app, link.id, "").await;
        assert_eq!(stats.clicks, 4, "click events, folded: {folded}");
        assert_eq!(
            (stats.humans, stats.bots, stats.previews),
            (1, 1, 3),
            "folded: {folded}"
        );
        let today = stats.clicks_by_day.last().unwrap();
        assert_eq!(
            (today.humans + today.bots + today.previews, today.clicks),
            (5, 4),
            "the classes hold the HEAD too; clicks hold the events"
        );
        assert_eq!(stats.unique_visitors, 1, "one person: folded {folded}");
    }
}

#[sqlx::test]
async fn a_bad_stats_range_is_a_400_naming_the_parameter(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    for (query, field) in [
        ("?from=2026-02-30", "from"),
        ("?to=tomorrow", "to"),
        ("?from=2026-12-02&to=2026-12-01", "from"),
        ("?from=2020-01-01&to=2026-12-01", "from"),
    ] {
        let error = app
            .get(&format!("/urls/{}/stats{query}", link.id))
            .await
            .expect_error(axum::http::StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{query}: {error:?}");
    }
    let stats: crate::helpers::bodies::LinkStats = app
        .get(&format!(
            "/urls/{}/stats?from=2026-01-01&to=2026-01-31",
            link.id
        ))
        .await
        .expect_body(axum::http::StatusCode::OK);
    assert_eq!(stats.clicks_by_day.len(), 31);
    assert_eq!(
        (stats.from.as_str(), stats.to.as_str()),
        ("2026-01-01", "2026-01-31")
    );
}
