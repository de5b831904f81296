//! Who manages which subscriptions, and what a subscription may be: an owner key only its
//! own user's (for its user's links), an admin any, another key none; URLs follow the
//! rules of a link's destination, and events are the known ones.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use super::{Webhook, WithSecret};
use crate::access::{ADMIN, WRITER, app_with_keys, as_key, make_user};
use crate::helpers::TestApp;

#[sqlx::test]
async fn bad_subscriptions_are_400s_naming_the_field(pool: PgPool) {
    let app = TestApp::new(pool);
    for (body, field) in [
        (
            json!({"url": "http://127.0.0.1:9/hook", "events": ["link.created"]}),
            "url",
        ),
        (
            json!({"url": "not a url", "events": ["link.created"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/hook", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/hook", "events": ["link.visited"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/hook", "events": ["link.created"], "description": "x".repeat(501)}),
            "description",
        ),
    ] {
        let error = app
            .post_json("/webhooks", body.clone())
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{body}: {error:?}");
    }
    let made: WithSecret = app
        .post_json(
            "/webhooks",
            json!({"url": "https://example.com/hook", "events": ["link.created"], "description": "  CRM  "}),
        )
        .await
        .expect_body(StatusCode::CREATED);
    assert_eq!(made.webhook.description.as_deref(), Some("CRM"));
    assert_eq!(made.webhook.url, "https://example.com/hook");
    assert_eq!(made.webhook.events, ["link.created"]);
    let path = format!("/webhooks/{}", made.webhook.id);
    let error = app
        .put_json(&path, json!({"enabled": null}))
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("enabled"));
    let changed: Webhook = app
        .put_json(
            &path,
            json!({"events": ["link.deleted", "link.updated"], "description": null}),
        )
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(changed.events, ["link.deleted", "link.updated"]);
    assert_eq!(changed.description, None);
    assert_eq!(changed.url, "https://example.com/hook", "left alone");
    app.delete(&path).await.expect(StatusCode::NO_CONTENT);
    app.get(&path).await.expect_error(StatusCode::NOT_FOUND);
    app.delete(&path).await.expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn an_owner_key_manages_only_its_own_users_subscriptions(pool: PgPool) {
    let app = app_with_keys(pool);
    let ada = make_user(&app, "ada").await.id;
    let bob = make_user(&app, "bob").await.id;
    let ada_key = owner_key(&app, ada).await;
    let bob_key = owner_key(&app, bob).await;
    let body = json!({"url": "https://example.com/ada", "events": ["link.created"]});
    let made: WithSecret = as_key(&app, &ada_key, Method::POST, "/webhooks", Some(body))
        .await
        .expect_body(StatusCode::CREATED);
    assert_eq!(made.webhook.user_id, Some(ada));
    let other = json!({"url": "https://example.com/x", "events": ["link.created"], "user_id": bob});
    as_key(&app, &ada_key, Method::POST, "/webhooks", Some(other))
        .await
        .expect_error(StatusCode::FORBIDDEN);
    let path = format!("/webhooks/{}", made.webhook.id);
    for (method, path) in [
        (Method::GET, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::GET, format!("{path}/deliveries")),
        (Method::POST, format!("{path}/rotate-secret")),
    ] {
        as_key(&app, &bob_key, method, &path, None)
            .await
            .expect_error(StatusCode::NOT_FOUND);
    }
    let bobs: Vec<Webhook> = as_key(&app, &bob_key, Method::GET, "/webhooks", None)
        .await
        .expect_body(StatusCode::OK);
    assert!(bobs.is_empty());
    let all: Vec<Webhook> = as_key(&app, ADMIN, Method::GET, "/webhooks", None)
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(all.len(), 1);
    // A write key across users manages none: a subscription sees every link it covers.
    as_key(&app, WRITER, Method::GET, "/webhooks", None)
        .await
        .expect_error(StatusCode::FORBIDDEN);
}

/// A new write key that acts only as `user`.
async fn owner_key(app: &TestApp, user: i64) -> String {
    let body = json!({"name": format!("owner-{user}"), "scope": "write", "user_id": user});
    as_key(app, ADMIN, Method::POST, "/api-keys", Some(body))
        .await
        .expect(StatusCode::CREATED)["key"]
        .as_str()
        .unwrap()
        .to_owned()
}
