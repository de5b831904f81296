//! An operator's lock on a link, which its owner cannot undo, and reports of links by
//! anyone: public, limited per client, small, and listed to admins only.

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{ADMIN, READER, WRITER, app_with_keys, as_key, call, make_user, request};
use crate::helpers::bodies::Link;
use crate::helpers::{TestApp, TestResponse};

/// `POST /urls/{short_code}/report`'s answer and the items of `GET /reports`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Report {
    id: i64,
    url_id: i64,
    reason: String,
    comment: Option<String>,
    created_at: String,
}

/// A report sent without a key, from the client the proxy calls `client`.
async fn report(app: &TestApp, code: &str, client: &str, body: Value) -> TestResponse {
    let mut request = request("POST", &format!("/urls/{code}/report"), None, Some(body));
    request
        .headers_mut()
        .insert("x-real-ip", client.parse().unwrap());
    app.send(request).await
}

/// An owner key and a link of its user.
async fn owned_link(app: &TestApp) -> (String, Link) {
    let user = make_user(app, "ada").await;
    let key: Value = as_key(
        app,
        ADMIN,
        Method::POST,
        "/api-keys",
        Some(json!({"name": "ada-key", "scope": "write", "user_id": user.id})),
    )
    .await
    .expect_body(StatusCode::CREATED);
    let key = key["key"].as_str().unwrap().to_owned();
    let link: Link = as_key(
        app,
        &key,
        Method::POST,
        "/urls",
        Some(json!({"original_url": "https://example.com/reported"})),
    )
    .await
    .expect_body(StatusCode::CREATED);
    (key, link)
}

#[sqlx::test]
async fn a_locked_link_stays_off_until_an_admin_lifts_the_lock(pool: PgPool) {
    let app = app_with_keys(pool);
    let (owner, link) = owned_link(&app).await;
    let path = format!("/urls/{}", link.id);
    let lock = format!("{path}/lock");
    let reason = json!({"reason": "phishing, reported twice"});
    for key in [owner.as_str(), WRITER] {
        as_key(&app, key, Method::PUT, &lock, Some(reason.clone()))
            .await
            .expect_error(StatusCode::FORBIDDEN);
    }
    let locked: Link = as_key(&app, ADMIN, Method::PUT, &lock, Some(reason))
        .await
        .expect_body(StatusCode::OK);
    assert!(!locked.is_active);
    app.get(&format!("/{}", link.short_code))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    // Nobody turns it back on while it is locked: not its owner, not an admin.
    for key in [owner.as_str(), ADMIN] {
        let error = as_key(
            &app,
            key,
            Method::PUT,
            &path,
            Some(json!({"is_active": true})),
        )
        .await
        .expect_error(StatusCode::CONFLICT);
        assert!(error.names("is_active"), "{error}");
        assert!(error.error.contains("phishing, reported twice"), "{error}");
    }
    // Other edits stay the owner's.
    as_key(
        &app,
        &owner,
        Method::PUT,
        &path,
        Some(json!({"title": "t"})),
    )
    .await
    .expect(StatusCode::OK);
    as_key(&app, owner.as_str(), Method::DELETE, &lock, None)
        .await
        .expect_error(StatusCode::FORBIDDEN);
    let lifted: Link = as_key(&app, ADMIN, Method::DELETE, &lock, None)
        .await
        .expect_body(StatusCode::OK);
    assert!(
        !lifted.is_active,
        "lifting the lock does not turn the link on"
    );
    as_key(
        &app,
        &owner,
        Method::PUT,
        &path,
        Some(json!({"is_active": true})),
    )
    .await
    .expect(StatusCode::OK);
    app.get(&format!("/{}", link.short_code))
        .await
        .expect(StatusCode::FOUND);
    let error = as_key(
        &app,
        ADMIN,
        Method::PUT,
        &lock,
        Some(json!({"reason": "  "})),
    )
    .await
    .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("reason"), "{error}");
    as_key(
        &app,
        ADMIN,
        Method::PUT,
        "/urls/9000000/lock",
        Some(json!({"reason": "x"})),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn anyone_may_report_a_link_and_admins_alone_read_the_reports(pool: PgPool) {
    let app = app_with_keys(pool);
    let (_, link) = owned_link(&app).await;
    let received = report(
        &app,
        &link.short_code,
        "203.0.113.7",
        json!({"reason": "phishing", "comment": " asks for a bank password "}),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    // The public answer names no id: not the link's, not the report's.
    assert_eq!(
        received,
        json!({"reason": "phishing", "comment": "asks for a bank password"})
    );
    for (body, field) in [
        (json!({"reason": "fraud"}), "reason"),
        (
            json!({"reason": "spam", "comment": "x".repeat(1001)}),
            "comment",
        ),
    ] {
        let error = report(&app, &link.short_code, "203.0.113.8", body)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names(field), "{error}");
    }
    report(&app, "nosuchcode", "203.0.113.8", json!({"reason": "spam"}))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    // An inactive link answers as a missing one, as its redirect does.
    let off: Link = as_key(
        &app,
        ADMIN,
        Method::POST,
        "/urls",
        Some(json!({"original_url": "https://example.com/off"})),
    )
    .await
    .expect_body(StatusCode::CREATED);
    as_key(
        &app,
        ADMIN,
        Method::PUT,
        &format!("/urls/{}", off.id),
        Some(json!({"is_active": false})),
    )
    .await
    .expect(StatusCode::OK);
    report(
        &app,
        &off.short_code,
        "203.0.113.8",
        json!({"reason": "spam"}),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    let big = json!({"reason": "spam", "padding": "x".repeat(16 * 1024)});
    let too_large = report(&app, &link.short_code, "203.0.113.8", big)
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_large.error.contains("limit 8192 bytes"),
        "the report route's own limit: {}",
        too_large.error
    );

    let listed = as_key(&app, ADMIN, Method::GET, "/reports", None).await;
    let reports: Vec<Report> = listed.expect_body(StatusCode::OK);
    assert_eq!(reports.len(), 1);
    let stored = &reports[0];
    assert_eq!(
        (
            stored.url_id,
            stored.reason.as_str(),
            stored.comment.as_deref()
        ),
        (link.id, "phishing", Some("asks for a bank password"))
    );
    assert!(stored.id > 0 && !stored.created_at.is_empty());
    assert_eq!(listed.header("x-total-count"), Some("1"));
    for key in [READER, WRITER] {
        as_key(&app, key, Method::GET, "/reports", None)
            .await
            .expect_error(StatusCode::FORBIDDEN);
    }
    call(&app, Method::GET, "/reports", None, None)
        .await
        .expect_error(StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn reports_are_limited_per_client(pool: PgPool) {
    let app = app_with_keys(pool);
    let (_, link) = owned_link(&app).await;
    let spam = json!({"reason": "spam"});
    for _ in 0..5 {
        report(&app, &link.short_code, "198.51.100.1", spam.clone())
            .await
            .expect(StatusCode::ACCEPTED);
    }
    let refused = report(&app, &link.short_code, "198.51.100.1", spam.clone()).await;
    let error = refused.expect_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(error.error.contains("reports from this client"), "{error}");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    // Another client has its own allowance.
    report(&app, &link.short_code, "198.51.100.2", spam)
        .await
        .expect(StatusCode::ACCEPTED);
}
