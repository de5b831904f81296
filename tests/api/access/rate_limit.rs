//! The per-key create quota: a burst of creates is allowed and described in `RateLimit`
//! fields, the next is 429 with `Retry-After` and writes nothing, and other keys, reads
//! and keyless requests are not counted.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use super::{ADMIN, WRITER, app_with, request};
use shortener_service::quota::CreateQuotaSettings;

#[sqlx::test]
async fn creates_past_a_keys_burst_are_429_with_retry_after_and_write_nothing(pool: PgPool) {
    // One create a minute refills: a slow machine cannot change what the test sees.
    let quota = CreateQuotaSettings {
        refill_every: Duration::from_secs(60),
        burst: NonZeroU32::new(2).unwrap(),
    };
    let app = app_with(pool.clone(), Some(quota));
    let create = |key: &'static str, n: u32| {
        request(
            "POST",
            "/urls",
            Some(key),
            Some(json!({"original_url": format!("https://example.com/q/{key}/{n}")})),
        )
    };
    let first = app.send(create(WRITER, 1)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"creates\";q=2;w=120")
    );
    assert_eq!(first.header("ratelimit"), Some("\"creates\";r=1;t=60"));
    let second = app.send(create(WRITER, 2)).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.header("ratelimit"), Some("\"creates\";r=0;t=120"));
    let refused = app.send(create(WRITER, 3)).await;
    let body = refused.expect_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(body.error.contains("retry in"), "{body}");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((55..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.header("ratelimit"),
        Some(format!("\"creates\";r=0;t={retry_after}").as_str())
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM urls WHERE original_url LIKE '%/q/%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 2, "the refused create wrote nothing");

    // Another key has a quota of its own; reads are not counted and carry no fields.
    assert_eq!(app.send(create(ADMIN, 1)).await.status, StatusCode::CREATED);
    let read = app.send(request("GET", "/urls", Some(WRITER), None)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("ratelimit"), None);
}

#[sqlx::test]
async fn an_open_api_has_no_per_key_quota(pool: PgPool) {
    let quota = CreateQuotaSettings {
        refill_every: Duration::from_secs(60),
        burst: NonZeroU32::new(1).unwrap(),
    };
    let settings = shortener_server::replica::AppSettings {
        create_quota: Some(quota),
        ..shortener_server::replica::AppSettings::default()
    };
    let app = crate::helpers::TestApp::with_settings(pool, settings);
    for n in 0..3 {
        let created = app
            .post_json(
                "/urls",
                json!({"original_url": format!("https://example.com/o/{n}")}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        assert_eq!(created.header("ratelimit"), None);
    }
}

#[sqlx::test]
async fn each_item_of_a_bulk_create_takes_a_unit_of_the_quota(pool: PgPool) {
    let quota = CreateQuotaSettings {
        refill_every: Duration::from_secs(60),
        burst: NonZeroU32::new(5).unwrap(),
    };
    let app = app_with(pool.clone(), Some(quota));
    let bulk = |items: usize| {
        let body: Vec<_> = (0..items)
            .map(|n| json!({"original_url": format!("https://example.com/bulk/{items}/{n}")}))
            .collect();
        request("POST", "/urls/bulk", Some(WRITER), Some(json!(body)))
    };
    assert_eq!(app.send(bulk(3)).await.status, StatusCode::OK);
    // Two units left: three items are refused whole, with the wait.
    let refused = app.send(bulk(3)).await;
    refused.expect_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.header("retry-after").is_some());
    // More items than the burst can never go at once: a 400 that says to split.
    let error = app
        .send(bulk(6))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.detail("body").contains("split"), "{error:?}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM urls WHERE original_url LIKE '%/bulk/%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 3);
}
