//! Unique visitors: one person through two replicas is one visitor, two people are two,
//! the next day counts again, and no address is stored anywhere.

use axum::http::Method;
use chrono::{Days, Utc};
use sqlx::PgPool;

use super::{CHROME, FIREFOX, dump, fold, shared_key_settings, stats, visit_from};
use crate::helpers::TestApp;
use shortener_domain::Click;

#[sqlx::test]
async fn one_person_through_two_replicas_is_one_visitor_and_the_next_day_counts_again(
    pool: PgPool,
) {
    let first = TestApp::with_settings(pool.clone(), shared_key_settings());
    let second = TestApp::with_settings(pool.clone(), shared_key_settings());
    let link = first.shorten("https://example.com/sale").await;
    let code = link.short_code.as_str();
    let (ada, bob) = ("198.51.100.23", "2001:db8::77");
    for app in [&first, &second, &first] {
        visit_from(app, ada, Method::GET, code, &[("user-agent", CHROME)]).await;
    }
    visit_from(&second, bob, Method::GET, code, &[("user-agent", FIREFOX)]).await;
    // Bots and previews are no visitors.
    visit_from(
        &second,
        "192.0.2.50",
        Method::GET,
        code,
        &[("user-agent", "curl/8.5.0")],
    )
    .await;
    visit_from(
        &first,
        "192.0.2.51",
        Method::HEAD,
        code,
        &[("user-agent", CHROME)],
    )
    .await;
    second.clicks().flush().await;

    let today = Utc::now().date_naive();
    let query = format!("?from={}&to={}", today, today + Days::new(1));
    let stats_today = stats(&first, link.id, &query).await;
    assert_eq!(stats_today.humans, 4);
    assert_eq!(stats_today.unique_visitors, 2, "{stats_today:?}");

    // Ada again tomorrow: another day's id.
    let tomorrow = (today + Days::new(1))
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    second.clicks().enqueue(
        Click {
            url_id: link.id,
            at: tomorrow,
            user_agent: Some(CHROME.to_owned()),
            ..Click::default()
        },
        Some(ada.parse().unwrap()),
    );
    second.clicks().flush().await;
    for folded in [false, true] {
        if folded {
            fold(&first).await;
        }
        let stats = stats(&first, link.id, &query).await;
        let days: Vec<i64> = stats
            .clicks_by_day
            .iter()
            .map(|d| d.unique_visitors)
            .collect();
        assert_eq!(days, [2, 1], "folded: {folded}");
        assert_eq!(stats.unique_visitors, 3, "folded: {folded}");
    }

    // A repeat after the fold is still the same visitor.
    visit_from(&second, ada, Method::GET, code, &[("user-agent", CHROME)]).await;
    let stats_after = stats(&second, link.id, &query).await;
    assert_eq!(stats_after.unique_visitors, 3);
    assert_eq!(stats_after.humans, 6);

    let text = dump(&pool).await;
    for address in [
        ada,
        bob,
        "2001:db8:0:0:0:0:0:77",
        "192.0.2.50",
        "192.0.2.51",
    ] {
        assert!(!text.contains(address), "{address} is stored somewhere");
    }
}
