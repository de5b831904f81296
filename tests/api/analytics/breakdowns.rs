//! `GET /urls/{id}/stats/{dimension}`: every dimension sums to the class totals, before
//! and after the fold; time dimensions are zero-filled; bad parameters are a 400.

use axum::http::{Method, StatusCode};
use chrono::Utc;
use sqlx::PgPool;

use super::{CHROME, FIREFOX, fold, shared_key_settings, stats, visit_from};
use crate::helpers::TestApp;
use crate::helpers::bodies::KeyClicks;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
/// A visit: the connection's address, the user agent, more headers.
type Visit<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

const KEYED: [&str; 6] = ["country", "browser", "os", "device", "language", "referrer"];

async fn breakdown(app: &TestApp, id: i64, dimension: &str, query: &str) -> Vec<KeyClicks> {
    app.clicks().flush().await;
    app.get(&format!("/urls/{id}/stats/{dimension}{query}"))
        .await
        .expect_body(StatusCode::OK)
}

fn row(key: &str, clicks: i64, unique_visitors: i64) -> KeyClicks {
    KeyClicks {
        key: Some(key.to_owned()),
        clicks,
        unique_visitors,
    }
}

#[sqlx::test]
async fn every_dimension_sums_to_the_class_totals_before_and_after_the_fold(pool: PgPool) {
    let app = TestApp::with_settings(pool, shared_key_settings());
    let link = app.shorten("https://example.com/spring").await;
    let code = link.short_code.as_str();
    let visits: [Visit<'_>; 6] = [
        (
            "198.51.100.1",
            CHROME,
            &[
                ("referer", "https://www.news.example/a?utm=1"),
                ("accept-language", "en-GB,en;q=0.9"),
            ],
        ),
        (
            "198.51.100.1",
            CHROME,
            &[
                ("referer", "https://news.example/b"),
                ("accept-language", "en-GB"),
            ],
        ),
        (
            "198.51.100.2",
            FIREFOX,
            &[("accept-language", "de-CH, de;q=0.8")],
        ),
        (
            "198.51.100.3",
            IPHONE,
            &[("referer", "https://social.example/")],
        ),
        ("198.51.100.4", "curl/8.5.0", &[]),
        (
            "198.51.100.5",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            &[],
        ),
    ];
    for (peer, agent, headers) in visits {
        let mut all = vec![("user-agent", agent)];
        all.extend_from_slice(headers);
        visit_from(&app, peer, Method::GET, code, &all).await;
    }
    visit_from(
        &app,
        "198.51.100.6",
        Method::HEAD,
        code,
        &[("user-agent", FIREFOX)],
    )
    .await;

    for folded in [false, true] {
        if folded {
            fold(&app).await;
        }
        let totals = stats(&app, link.id, "").await;
        assert_eq!((totals.humans, totals.bots, totals.previews), (4, 1, 2));
        assert_eq!(totals.unique_visitors, 3);
        for (class, expected) in [("human", 4), ("bot", 1), ("preview", 2), ("all", 7)] {
            for dimension in KEYED.iter().chain(&["day", "hour", "class"]) {
                let rows = breakdown(
                    &app,
                    link.id,
                    dimension,
                    &format!("?class={class}&limit=1000"),
                )
                .await;
                let sum: i64 = rows.iter().map(|r| r.clicks).sum();
                assert_eq!(
                    sum, expected,
                    "{dimension} {class}, folded {folded}: {rows:?}"
                );
                let visitors: i64 = rows.iter().map(|r| r.unique_visitors).sum();
                let people = if matches!(class, "human" | "all") {
                    3
                } else {
                    0
                };
                assert_eq!(visitors, people, "{dimension} {class}, folded {folded}");
            }
        }
        assert_eq!(
            breakdown(&app, link.id, "browser", "").await,
            [
                row("Chrome", 2, 1),
                row("Firefox", 1, 1),
                row("Safari", 1, 1)
            ],
            "folded {folded}"
        );
        assert_eq!(
            breakdown(&app, link.id, "referrer", "").await,
            [
                row("news.example", 2, 1),
                row("social.example", 1, 1),
                KeyClicks {
                    key: None,
                    clicks: 1,
                    unique_visitors: 1
                }
            ]
        );
        assert_eq!(
            breakdown(&app, link.id, "language", "?limit=1").await,
            [row("en", 2, 1)]
        );
        assert_eq!(
            breakdown(&app, link.id, "device", "").await,
            [row("desktop", 3, 2), row("mobile", 1, 1)]
        );
        assert_eq!(
            breakdown(&app, link.id, "class", "").await,
            [row("human", 4, 3), row("preview", 2, 0), row("bot", 1, 0)]
        );
        let top = stats(&app, link.id, "").await;
        assert_eq!(top.top_browsers[0], row("Chrome", 2, 1));
        assert_eq!(top.top_oses.len(), 3, "{:?}", top.top_oses);
        assert_eq!(top.top_referrer_hosts[0], row("news.example", 2, 1));
    }

    let hours = breakdown(&app, link.id, "hour", "?class=all").await;
    assert_eq!(hours.len(), 30 * 24, "every hour of the default range");
    let now = Utc::now().format("%Y-%m-%dT%H:00:00").to_string();
    let this_hour = hours.iter().find(|h| h.key.as_deref() == Some(&now));
    assert_eq!(this_hour.map(|h| h.clicks), Some(7), "{now}");
    let days = breakdown(&app, link.id, "day", "?from=2026-01-01&to=2026-01-03").await;
    assert_eq!(
        days,
        [
            row("2026-01-01", 0, 0),
            row("2026-01-02", 0, 0),
            row("2026-01-03", 0, 0)
        ]
    );
}

#[sqlx::test]
async fn a_bad_breakdown_is_a_400_naming_each_parameter(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app.shorten("https://example.com").await;
    let error = app
        .get(&format!(
            "/urls/{}/stats/planet?class=robots&limit=0&from=2026-13-01",
            link.id
        ))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    for field in ["dimension", "class", "limit", "from"] {
        assert!(error.names(field), "{field}: {error:?}");
    }
    for limit in ["1001", "+5", "x"] {
        let error = app
            .get(&format!("/urls/{}/stats/country?limit={limit}", link.id))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("limit"), "{limit}");
    }
    app.get("/urls/424242/stats/country")
        .await
        .expect_error(StatusCode::NOT_FOUND);
    app.get("/urls/abc/stats/country")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
}
