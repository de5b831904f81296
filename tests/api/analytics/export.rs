//! `GET /urls/{id}/clicks.csv`: the raw clicks with their derived fields, in the order
//! they were recorded, across pages, within the range, formulas defused, no address.

use axum::http::{Method, StatusCode};
use chrono::{Days, Utc};
use sqlx::PgPool;

use super::{CHROME, shared_key_settings, visit_from};
use crate::helpers::TestApp;
use shortener_domain::Click;

fn records(body: &[u8]) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(body)
        .records()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[sqlx::test]
async fn the_export_lists_every_retained_click_of_the_range_with_its_derived_fields(pool: PgPool) {
    let app = TestApp::with_settings(pool, shared_key_settings());
    let link = app.shorten("https://example.com/export").await;
    let code = link.short_code.as_str();
    let peer = "198.51.100.40";
    visit_from(
        &app,
        peer,
        Method::GET,
        code,
        &[
            ("user-agent", CHROME),
            ("referer", "https://www.news.example/x"),
            ("accept-language", "fr-FR"),
        ],
    )
    .await;
    visit_from(
        &app,
        peer,
        Method::GET,
        code,
        &[("user-agent", "=HYPERLINK(\"http://evil\")")],
    )
    .await;
    // A HEAD is no click event: not exported.
    visit_from(&app, peer, Method::HEAD, code, &[("user-agent", CHROME)]).await;
    // More than a page of clicks, the day before.
    let yesterday = Utc::now() - Days::new(1);
    for _ in 0..1_005 {
        app.clicks().enqueue(
            Click {
                url_id: link.id,
                at: yesterday,
                user_agent: Some("curl/8.5.0".to_owned()),
                ..Click::default()
            },
            None,
        );
    }
    app.clicks().flush().await;

    let response = app.get(&format!("/urls/{}/clicks.csv", link.id)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["content-type"], "text/csv; charset=utf-8");
    let header = String::from_utf8_lossy(&response.body)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        header,
        "timestamp,class,reason,browser,os,device,language,country,referrer_host,referrer,user_agent"
    );
    let rows = records(&response.body);
    assert_eq!(rows.len(), 1_007, "every click event, over two pages");
    // In the order they were recorded: the two visits, then the clicks written after.
    let person = &rows[0];
    assert_eq!(
        person.iter().skip(1).collect::<Vec<_>>(),
        [
            "human",
            "browser",
            "Chrome",
            "Windows",
            "desktop",
            "fr",
            "",
            "news.example",
            "https://www.news.example/x",
            CHROME
        ]
    );
    assert_eq!(
        &rows[1][10], "'=HYPERLINK(\"http://evil\")",
        "a formula is defused"
    );
    assert!(
        rows[2..]
            .iter()
            .all(|r| &r[1] == "bot" && &r[10] == "curl/8.5.0")
    );
    assert!(!String::from_utf8_lossy(&response.body).contains(peer));

    let today = Utc::now().date_naive();
    let only_today = app
        .get(&format!(
            "/urls/{}/clicks.csv?from={today}&to={today}",
            link.id
        ))
        .await;
    assert_eq!(records(&only_today.body).len(), 2);
    app.get(&format!("/urls/{}/clicks.csv?from=yesterday", link.id))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    app.get("/urls/424242/clicks.csv")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}
