//! `POST /urls/bulk`: a thousand items with some bad ones, each created or refused on its
//! own in the body's order; all or nothing; an `Idempotency-Key` that makes a retry (on
//! another replica, or at the same time) return the first answer without creating twice,
//! refuses the same key with another body, and is forgotten after a day.

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;
use shortener_service::upkeep::{self, UpkeepSettings};

use super::*;

/// `POST /urls/bulk` with `body`, the query and an `Idempotency-Key` when given.
async fn bulk(app: &TestApp, query: &str, key: Option<&str>, body: &Value) -> TestResponse {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/urls/bulk{query}"))
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn links_total(app: &TestApp) -> i64 {
    app.get("/urls?per_page=1")
        .await
        .header("x-total-count")
        .unwrap()
        .parse()
        .unwrap()
}

/// A thousand items: item n is good but for every 100th (a bad URL), the 250th (a code
/// the 249th takes) and the 500th (an owner that does not exist).
fn thousand() -> Value {
    let items: Vec<Value> = (0..1000)
        .map(|n| match n {
            250 => json!({"original_url": "https://example.com/dup", "short_code": "taken-code"}),
            249 => json!({"original_url": "https://example.com/first", "short_code": "taken-code"}),
            500 => json!({"original_url": "https://example.com/orphan", "user_id": 999_999}),
            n if n % 100 == 99 => json!({"original_url": "not a url"}),
            n => json!({"original_url": format!("https://example.com/{n}"), "tags": ["bulk"]}),
        })
        .collect();
    Value::Array(items)
}

#[sqlx::test]
async fn a_thousand_items_are_each_created_or_refused_in_order(pool: PgPool) {
    let app = TestApp::new(pool);
    let answer = bulk(&app, "", None, &thousand())
        .await
        .expect(StatusCode::OK);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    let refused: Vec<(u64, u64)> = items
        .iter()
        .filter(|item| item["status"] != 201)
        .map(|item| {
            (
                item["index"].as_u64().unwrap(),
                item["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut expected: Vec<(u64, u64)> = (0..10).map(|k| (k * 100 + 99, 400)).collect();
    expected.extend([(250, 409), (500, 404)]);
    expected.sort();
    assert_eq!(refused, expected);
    assert_eq!(
        (answer["created"].as_u64(), answer["refused"].as_u64()),
        (Some(988), Some(12))
    );
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item["index"], json!(n));
        if item["status"] == 201 {
            assert!(item["link"]["short_code"].is_string() && item.get("error").is_none());
        } else {
            assert!(item["error"]["error"].is_string() && item.get("link").is_none());
        }
    }
    assert!(items[99]["error"]["details"]["original_url"].is_string());
    assert_eq!(items[249]["link"]["short_code"], "taken-code");
    assert_eq!(links_total(&app).await, 988);
    // Each created link is a link like any other: it redirects and has its event.
    let link: Link = serde_json::from_value(items[7]["link"].clone()).unwrap();
    assert_eq!(link.tags, ["bulk"]);
    assert_redirects_to(
        &visit(&app, &link.short_code, "").await,
        "https://example.com/7",
    );
    assert_eq!(app.events_of_type(link.id, "created").await.len(), 1);
}

#[sqlx::test]
async fn all_or_nothing_creates_every_item_or_none(pool: PgPool) {
    let app = TestApp::new(pool);
    let error = bulk(&app, "?all_or_nothing=true", None, &thousand())
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    let details = error.details.clone().unwrap();
    assert!(details.contains_key("99.original_url"), "{details:?}");
    assert!(details.contains_key("250.short_code"), "{details:?}");
    assert!(details.contains_key("500"), "{details:?}");
    assert_eq!(details.len(), 12, "{details:?}");
    assert_eq!(links_total(&app).await, 0, "nothing created");
    // A refusal of the item's own fields alone is enough.
    let one_bad = json!([{"original_url": "https://example.com/ok"}, {"original_url": "bad"}]);
    let error = bulk(&app, "?all_or_nothing=true", None, &one_bad)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert_eq!(
        error.details.unwrap().keys().collect::<Vec<_>>(),
        ["1.original_url"]
    );
    assert_eq!(links_total(&app).await, 0, "nothing created");
    let good = json!([{"original_url": "https://example.com/a"}, {"original_url": "https://example.com/b"}]);
    let answer = bulk(&app, "?all_or_nothing=true", None, &good)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(answer["created"], 2);
    assert_eq!(links_total(&app).await, 2);
}

#[sqlx::test]
async fn the_same_idempotency_key_creates_once_on_any_replica(pool: PgPool) {
    let a = TestApp::new(pool.clone());
    let b = TestApp::new(pool);
    let body = json!([{"original_url": "https://example.com/once"}, {"original_url": "bad"}]);
    let first = bulk(&a, "", Some("order-42"), &body).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retried = bulk(&b, "", Some("order-42"), &body).await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.json(), first.json());
    assert_eq!(links_total(&a).await, 1);
    // Another body under the same key is refused; another key creates.
    let other = json!([{"original_url": "https://example.com/other"}]);
    let error = bulk(&a, "", Some("order-42"), &other)
        .await
        .expect_error(StatusCode::CONFLICT);
    assert!(error.names("Idempotency-Key"), "{error:?}");
    bulk(&a, "", Some("order-43"), &other)
        .await
        .expect(StatusCode::OK);
    assert_eq!(links_total(&a).await, 2);

    // Two replicas at once with one key: one creates, the other waits and replays.
    let body = json!([{"original_url": "https://example.com/race"}]);
    let (x, y) = tokio::join!(
        bulk(&a, "", Some("race"), &body),
        bulk(&b, "", Some("race"), &body)
    );
    assert_eq!((x.status, y.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(x.json(), y.json());
    let replays = [&x, &y]
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replays, 1);
    assert_eq!(links_total(&a).await, 3);
}

#[sqlx::test]
async fn an_idempotency_key_is_forgotten_after_a_day(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let body = json!([{"original_url": "https://example.com/daily"}]);
    bulk(&app, "", Some("daily"), &body)
        .await
        .expect(StatusCode::OK);
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&pool)
        .await
        .unwrap();
    // The replica's own upkeep may hold the turn at that moment: run until one run has
    // gone through.
    for _ in 0..50 {
        upkeep::run_once(app.db(), UpkeepSettings::default(), app.state.metrics()).await;
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
            .fetch_one(&pool)
            .await
            .unwrap();
        if kept == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = bulk(&app, "", Some("daily"), &body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_eq!(links_total(&app).await, 2);
}

#[sqlx::test]
async fn a_body_that_is_not_1_to_1000_items_or_a_bad_key_is_a_400(pool: PgPool) {
    let app = TestApp::new(pool);
    let too_many = Value::Array(vec![json!({"original_url": "https://example.com"}); 1001]);
    for body in [
        json!([]),
        json!({"original_url": "https://example.com"}),
        too_many,
    ] {
        bulk(&app, "", None, &body)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
    }
    let one = json!([{"original_url": "https://example.com"}]);
    let error = bulk(&app, "", Some("has space"), &one)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("Idempotency-Key"));
    let error = bulk(&app, "?all_or_nothing=maybe", None, &one)
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("all_or_nothing"));
    assert_eq!(links_total(&app).await, 0);
}
