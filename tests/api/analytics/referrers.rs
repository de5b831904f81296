//! The all-time referrer counts are kept by referring host: referrers that differ only in
//! path, query or `www.` share one row per link, whether the click came through the
//! redirect (the writer derives the host) or an import (Postgres derives it), and the two
//! derivations agree.

use axum::http::Method;
use sqlx::PgPool;

use super::{CHROME, fold, stats, visit_from};
use crate::helpers::TestApp;
use shortener_clicks::classify::referrer_host;

/// Referrers as browsers and importers send them, and odd ones.
const REFERRERS: [&str; 16] = [
    "https://news.example/a?utm_source=x&utm_medium=y",
    "https://WWW.News.Example/b#top",
    "http://news.example:8080/c",
    "https://user:secret@news.example/d",
    "https://t.co/AbC123",
    "https://t.co/xYz789",
    "android-app://com.slack/",
    "http://[2001:db8::1]:8443/path",
    "http://192.0.2.7/",
    "https://www.example.org",
    "mailto:someone@example.com",
    "not a url",
    "",
    "/relative/path",
    "https://",
    "file:///etc/passwd",
];

#[sqlx::test]
async fn the_writer_and_postgres_derive_the_same_host(pool: PgPool) {
    for referrer in REFERRERS {
        let in_postgres: String = sqlx::query_scalar("SELECT referrer_host_of($1)")
            .bind(referrer)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            in_postgres,
            referrer_host(referrer).unwrap_or_default(),
            "{referrer:?}"
        );
    }
}

/// The link's referring-host rows, folded: `(host, clicks)` in host order.
async fn host_rows(pool: &PgPool, url_id: i64) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT host, clicks FROM link_referrer_hosts WHERE url_id = $1 ORDER BY 1")
        .bind(url_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn redirected_and_imported_clicks_keep_one_row_per_referring_host(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let link = app.shorten("https://example.com/hosts").await;
    for (i, referrer) in REFERRERS[..6].iter().enumerate() {
        let peer = format!("198.51.100.{}", i + 1);
        let headers = [("user-agent", CHROME), ("referer", *referrer)];
        visit_from(&app, &peer, Method::GET, &link.short_code, &headers).await;
    }
    visit_from(
        &app,
        "198.51.100.9",
        Method::GET,
        &link.short_code,
        &[("user-agent", CHROME)],
    )
    .await;
    // Imported clicks go through `events`, whose trigger derives the host in Postgres.
    sqlx::query(
        "INSERT INTO events (url_id, user_id, event_type, details) \
         SELECT $1, u.user_id, 'click', jsonb_build_object('referrer', r) \
         FROM urls u, unnest($2::text[]) r WHERE u.id = $1",
    )
    .bind(link.id)
    .bind([
        "https://news.example/imported?ref=feed",
        "https://t.co/Imp0rt",
    ])
    .execute(&pool)
    .await
    .unwrap();
    app.clicks().flush().await;
    fold(&app).await;

    assert_eq!(
        host_rows(&pool, link.id).await,
        [
            (String::new(), 1),
            ("news.example".to_owned(), 5),
            ("t.co".to_owned(), 3)
        ]
    );
    let stats = stats(&app, link.id, "").await;
    let top: Vec<(Option<&str>, i64)> = stats
        .top_referrers
        .iter()
        .map(|r| (r.referrer.as_deref(), r.clicks))
        .collect();
    assert_eq!(
        top,
        [(Some("news.example"), 5), (Some("t.co"), 3), (None, 1)]
    );
    // The full referrer stays in the raw event.
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE url_id = $1 AND details->>'referrer' = $2",
    )
    .bind(link.id)
    .bind(REFERRERS[0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(kept, 1);
}
