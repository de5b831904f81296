//! `GET /stats` and `GET /stats/{dimension}`: the clicks of every link together (a caller
//! without owner), from the rollups the fold keeps per scope: every figure equals the sum
//! of the links' own, before and after the fold, and every dimension (`link` too) sums
//! to the class totals.

use axum::http::{Method, StatusCode};
use sqlx::PgPool;

use super::{CHROME, FIREFOX, fold, shared_key_settings, stats, visit_from};
use crate::helpers::TestApp;
use crate::helpers::bodies::{KeyClicks, ScopeStats};

const DIMENSIONS: [&str; 10] = [
    "day", "hour", "class", "country", "browser", "os", "device", "language", "referrer", "link",
];

async fn scope_breakdown(app: &TestApp, dimension: &str, query: &str) -> Vec<KeyClicks> {
    app.clicks().flush().await;
    app.get(&format!("/stats/{dimension}{query}"))
        .await
        .expect_body(StatusCode::OK)
}

async fn link_breakdown(app: &TestApp, id: i64, dimension: &str, query: &str) -> Vec<KeyClicks> {
    app.get(&format!("/urls/{id}/stats/{dimension}{query}"))
        .await
        .expect_body(StatusCode::OK)
}

#[sqlx::test]
async fn every_figure_across_links_is_the_sum_of_the_links_own(pool: PgPool) {
    let app = TestApp::with_settings(pool, shared_key_settings());
    let ada = app.create_user("ada", "ada@example.com").await;
    let mut links = Vec::new();
    for (i, owner) in [Some(ada.id), Some(ada.id), None].into_iter().enumerate() {
        let body =
            serde_json::json!({"original_url": format!("https://e.example/{i}"), "user_id": owner});
        links.push(app.create_link(body).await);
    }
    // (link, peer, agent, referrer): people, a bot and an unfurler, spread over the links.
    let visits = [
        (0, "198.51.100.1", CHROME, "https://news.example/a"),
        (0, "198.51.100.2", FIREFOX, "https://social.example/"),
        (0, "198.51.100.1", CHROME, "https://news.example/b"),
        (1, "198.51.100.1", CHROME, "https://news.example/c"),
        (1, "198.51.100.3", "curl/8.5.0", ""),
        (2, "198.51.100.4", FIREFOX, ""),
        (
            2,
            "198.51.100.5",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "",
        ),
    ];
    for (link, peer, agent, referrer) in visits {
        let mut headers = vec![("user-agent", agent)];
        if !referrer.is_empty() {
            headers.push(("referer", referrer));
        }
        visit_from(&app, peer, Method::GET, &links[link].short_code, &headers).await;
    }
    visit_from(
        &app,
        "198.51.100.6",
        Method::HEAD,
        &links[1].short_code,
        &[],
    )
    .await;

    for folded in [false, true] {
        if folded {
            fold(&app).await;
        }
        let all: ScopeStats = app.get("/stats").await.expect_body(StatusCode::OK);
        assert_eq!(all.user_id, None);
        let mut own = Vec::new();
        for link in &links {
            own.push(stats(&app, link.id, "").await);
        }
        assert_eq!(
            all.clicks,
            own.iter().map(|s| s.clicks).sum::<i64>(),
            "{all:?}"
        );
        assert_eq!(
            (all.clicks, all.humans, all.bots, all.previews),
            (7, 5, 1, 2)
        );
        assert_eq!(
            all.unique_visitors,
            own.iter().map(|s| s.unique_visitors).sum::<i64>(),
            "a visitor counts once per link and day"
        );
        assert_eq!(all.unique_visitors, 4);
        assert_eq!(all.clicks_by_day.last().map(|d| d.clicks), Some(7));
        assert_eq!(all.top_browsers[0].key.as_deref(), Some("Chrome"));
        assert_eq!(all.top_browsers[0].clicks, 3);
        assert_eq!(
            all.top_referrer_hosts[0].key.as_deref(),
            Some("news.example")
        );
        assert_eq!(all.top_referrer_hosts[0].clicks, 3);
        let top_link = scope_breakdown(&app, "link", "?limit=1").await;
        assert_eq!(
            top_link[0].key,
            Some(links[0].id.to_string()),
            "{top_link:?}"
        );
        let people_by_link = scope_breakdown(&app, "link", "").await;
        assert_eq!(all.top_links, people_by_link);
        assert_eq!(
            all.top_links.iter().map(|r| r.clicks).collect::<Vec<_>>(),
            [3, 1, 1]
        );

        for (class, expected) in [("human", 5), ("bot", 1), ("preview", 2), ("all", 8)] {
            for dimension in DIMENSIONS {
                let limit = if dimension == "link" { 100 } else { 1000 };
                let query = format!("?class={class}&limit={limit}");
                let rows = scope_breakdown(&app, dimension, &query).await;
                let sum: i64 = rows.iter().map(|r| r.clicks).sum();
                assert_eq!(
                    sum, expected,
                    "{dimension} {class}, folded {folded}: {rows:?}"
                );
                if dimension == "link" {
                    continue;
                }
                // Each key's count across links is the sum of the links' counts.
                for row in rows.iter().filter(|r| r.clicks > 0) {
                    let mut of_links = 0;
                    for link in &links {
                        let theirs = link_breakdown(&app, link.id, dimension, &query).await;
                        of_links += theirs
                            .iter()
                            .filter(|r| r.key == row.key)
                            .map(|r| r.clicks)
                            .sum::<i64>();
                    }
                    assert_eq!(row.clicks, of_links, "{dimension} {class} {:?}", row.key);
                }
            }
        }
        let by_link = scope_breakdown(&app, "link", "?class=all").await;
        let counted: Vec<(String, i64)> = by_link
            .iter()
            .map(|r| (r.key.clone().unwrap(), r.clicks))
            .collect();
        assert_eq!(
            counted,
            [
                (links[0].id.to_string(), 3),
                (links[1].id.to_string(), 3),
                (links[2].id.to_string(), 2)
            ]
        );
    }
}

#[sqlx::test]
async fn a_bad_breakdown_across_links_is_a_400_naming_each_parameter(pool: PgPool) {
    let app = TestApp::new(pool);
    let error = app
        .get("/stats/planet?class=robots&limit=0&to=2026-02-30")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    for field in ["dimension", "class", "limit", "to"] {
        assert!(error.names(field), "{field}: {error:?}");
    }
    let error = app
        .get("/stats?from=2020-01-01&to=2026-01-01")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("from") || error.names("to"), "{error:?}");
    let link = app.shorten("https://example.com").await;
    let error = app
        .get(&format!("/urls/{}/stats/link", link.id))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(
        error.names("dimension"),
        "a link's clicks by link: {error:?}"
    );
}
