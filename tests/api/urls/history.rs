//! `GET /urls/{id}/events` and `GET /urls/{id}/stats`: a link's own events and its click
//! statistics.

use super::*;

#[sqlx::test]
async fn link_events_are_that_links_only_in_id_order_and_paginated(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com/0").await;
    let other = app.shorten("https://other.example").await;
    let path = format!("/urls/{}", link.id);
    for i in 1..=3 {
        app.put_json(
            &path,
            json!({"original_url": format!("https://example.com/{i}")}),
        )
        .await
        .expect(StatusCode::OK);
    }
    click(&app, &other.short_code, None).await;

    let response = app.get(&format!("{path}/events")).await;
    let events: Vec<Event> = response.expect_body(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("4"));
    assert!(events.iter().all(|e| e.url_id == link.id), "{events:?}");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["created", "updated", "updated", "updated"]);
    let event_ids = ids(&events);
    assert!(event_ids.windows(2).all(|w| w[0] < w[1]), "{event_ids:?}");

    let response = app.get(&format!("{path}/events?page=2&per_page=3")).await;
    let page: Vec<Event> = response.expect_body(StatusCode::OK);
    assert_eq!(response.header("x-total-count"), Some("4"));
    assert_eq!(ids(&page), [event_ids[3]]);
    assert_eq!(
        page[0].details,
        json!({"field": "original_url", "new_value": "https://example.com/3"})
    );
    app.get(&format!("{path}/events?per_page=0"))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn link_events_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/urls/424242/events")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn stats_count_clicks_by_day_and_referrer(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let other = app.shorten("https://other.example").await;
    let code = link.short_code.as_str();
    click(&app, code, Some("https://a.example/")).await;
    click(&app, code, Some("https://b.example/")).await;
    click(&app, code, Some("https://a.example/")).await;
    click(&app, code, None).await;
    click(&app, code, Some("https://a.example/")).await;
    // Neither a HEAD (a preview, not a click) nor another link's click is a click.
    assert_eq!(
        app.head(&format!("/{code}")).await.status,
        StatusCode::FOUND
    );
    click(&app, &other.short_code, Some("https://b.example/")).await;

    let response = app.link_stats(link.id).await;
    let raw = response.expect(StatusCode::OK);
    assert_eq!(
        keys_of(&raw),
        sorted(&[
            "url_id",
            "short_code",
            "clicks",
            "last_click_at",
            "from",
            "to",
            "humans",
            "bots",
            "previews",
            "unique_visitors",
            "clicks_by_day",
            "top_countries",
            "top_browsers",
            "top_oses",
            "top_devices",
            "top_referrer_hosts",
            "top_referrers"
        ]),
        "{raw}"
    );
    // The exact keys of the nested objects, on the raw body.
    for day in raw["clicks_by_day"].as_array().unwrap() {
        assert_eq!(
            keys_of(day),
            sorted(&[
                "date",
                "clicks",
                "humans",
                "bots",
                "previews",
                "unique_visitors"
            ]),
            "{day}"
        );
    }
    for entry in raw["top_referrers"].as_array().unwrap() {
        assert_eq!(keys_of(entry), sorted(&["referrer", "clicks"]), "{entry}");
    }
    let stats: LinkStats = response.body();
    assert_eq!(stats.url_id, link.id);
    assert_eq!(stats.short_code, code);
    assert_eq!(stats.clicks, 5);

    let clicks = app.events_of_type(link.id, "click").await;
    assert_eq!(clicks.len(), 5);
    assert_eq!(
        stats.last_click_at.as_deref(),
        Some(clicks[4].timestamp.as_str())
    );

    let days = &stats.clicks_by_day;
    assert_eq!(days.len(), 30, "{stats}");
    let today = chrono::Utc::now().date_naive();
    let dates: Vec<chrono::NaiveDate> = days
        .iter()
        .map(|d| chrono::NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").unwrap())
        .collect();
    assert_eq!(dates[29], today, "the last day is today (UTC)");
    assert_eq!(dates[0], today - chrono::Days::new(29));
    assert!(
        dates
            .windows(2)
            .all(|w| w[1] == w[0] + chrono::Days::new(1)),
        "consecutive days"
    );
    assert_eq!(days[29].clicks, 5);
    assert!(days[..29].iter().all(|d| d.clicks == 0), "{stats}");
    // The test client sends no user agent: each GET is a bot's, and the HEAD a preview.
    assert_eq!((days[29].bots, days[29].previews), (5, 1), "{stats}");
    assert_eq!((stats.humans, stats.bots, stats.previews), (0, 5, 1));
    assert_eq!(
        (stats.from.as_str(), stats.to.as_str()),
        (days[0].date.as_str(), days[29].date.as_str())
    );

    let referrers = &stats.top_referrers;
    let named: Vec<ReferrerClicks> = referrers
        .iter()
        .filter(|r| r.referrer.is_some())
        .cloned()
        .collect();
    assert_eq!(
        named,
        [
            ReferrerClicks {
                referrer: Some("a.example".to_owned()),
                clicks: 3
            },
            ReferrerClicks {
                referrer: Some("b.example".to_owned()),
                clicks: 1
            }
        ],
        "most-clicked first: {stats}"
    );
    if let Some(unknown) = referrers.iter().find(|r| r.referrer.is_none()) {
        assert_eq!(unknown.clicks, 1, "the click without a Referer: {stats}");
    }
}

#[sqlx::test]
async fn stats_of_a_link_without_clicks_are_zero(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let stats: LinkStats = app.link_stats(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(stats.clicks, 0);
    assert_eq!(stats.last_click_at, None);
    assert!(stats.top_referrers.is_empty(), "{stats}");
    let days = &stats.clicks_by_day;
    assert_eq!(days.len(), 30);
    assert!(days.iter().all(|d| d.clicks == 0), "{stats}");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(days[29].date, today);
}

#[sqlx::test]
async fn stats_of_unknown_link_is_404(pool: PgPool) {
    let app = TestApp::new(pool);
    app.get("/urls/424242/stats")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
