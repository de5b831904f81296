//! Keys as records, confined to an owner: an admin key makes, lists and revokes keys over
//! `/api-keys`; a key with a `user_id` sees and changes only that user's links, events,
//! stats and user, and another user's answer exactly as a missing one.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{ADMIN, app_with_keys, as_key, make_user};
use crate::helpers::TestApp;
use crate::helpers::bodies::{ErrorBody, Event, KeyClicks, Link, LinkStats, ScopeStats, User};

/// `POST /api-keys`'s answer: the key's fields and its secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatedKey {
    id: i64,
    name: String,
    scope: String,
    user_id: Option<i64>,
    expires_at: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
    key: String,
}

/// An item of `GET /api-keys`: no secret.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListedKey {
    id: i64,
    name: String,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    scope: String,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    user_id: Option<i64>,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    expires_at: Option<String>,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    created_at: String,
    #[expect(dead_code, reason = "the shape is what deny_unknown_fields checks")]
    last_used_at: Option<String>,
}

/// What `GET /urls` with `key` answers: whether the key is let in.
async fn key_check(app: &TestApp, key: &str) -> StatusCode {
    as_key(app, key, Method::GET, "/urls", None).await.status
}

/// `DELETE path` with the admin key.
async fn delete_as_admin(app: &TestApp, path: &str) -> crate::helpers::TestResponse {
    as_key(app, ADMIN, Method::DELETE, path, None).await
}

async fn make_key(app: &TestApp, body: Value) -> CreatedKey {
    as_key(app, ADMIN, Method::POST, "/api-keys", Some(body))
        .await
        .expect_body(StatusCode::CREATED)
}

/// Two users, an owner key and a link of each (made with that key).
struct Owners {
    ada: User,
    bob: User,
    ada_key: String,
    bob_key: String,
    ada_link: Link,
    bob_link: Link,
}

async fn owners(app: &TestApp) -> Owners {
    let ada = make_user(app, "ada").await;
    let bob = make_user(app, "bob").await;
    let ada_key = make_key(
        app,
        json!({"name": "ada-key", "scope": "write", "user_id": ada.id}),
    )
    .await;
    let bob_key = make_key(
        app,
        json!({"name": "bob-key", "scope": "write", "user_id": bob.id}),
    )
    .await;
    let mut links = Vec::new();
    for key in [&ada_key.key, &bob_key.key] {
        let link: Link = as_key(
            app,
            key,
            Method::POST,
            "/urls",
            Some(json!({"original_url": "https://example.com/mine"})),
        )
        .await
        .expect_body(StatusCode::CREATED);
        links.push(link);
    }
    let bob_link = links.pop().unwrap();
    let ada_link = links.pop().unwrap();
    Owners {
        ada,
        bob,
        ada_key: ada_key.key,
        bob_key: bob_key.key,
        ada_link,
        bob_link,
    }
}

#[sqlx::test]
async fn an_owner_keys_links_are_its_users_and_no_one_elses(pool: PgPool) {
    let app = app_with_keys(pool);
    let o = owners(&app).await;
    assert_eq!(o.ada_link.user_id, Some(o.ada.id));
    assert_eq!(o.bob_link.user_id, Some(o.bob.id));
    let error = as_key(
        &app,
        &o.ada_key,
        Method::POST,
        "/urls",
        Some(json!({"original_url": "https://example.com/x", "user_id": o.bob.id})),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN);
    assert!(error.names("user_id"), "{error}");
    let named_self: Link = as_key(
        &app,
        &o.ada_key,
        Method::POST,
        "/urls",
        Some(json!({"original_url": "https://example.com/y", "user_id": o.ada.id})),
    )
    .await
    .expect_body(StatusCode::CREATED);
    assert_eq!(named_self.user_id, Some(o.ada.id));
}

#[sqlx::test]
async fn another_owners_link_answers_as_a_missing_one_on_every_route(pool: PgPool) {
    let app = app_with_keys(pool.clone());
    let o = owners(&app).await;
    let before: (String, bool, Option<String>) =
        sqlx::query_as("SELECT original_url, is_active, title FROM urls WHERE id = $1")
            .bind(o.bob_link.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let missing = 9_000_000_i64;
    let routes = |id: i64| {
        vec![
            (Method::GET, format!("/urls/{id}"), None),
            (
                Method::PUT,
                format!("/urls/{id}"),
                Some(json!({"original_url": "https://evil.example/", "is_active": false})),
            ),
            (Method::GET, format!("/urls/{id}/events"), None),
            (Method::GET, format!("/urls/{id}/stats"), None),
            (
                Method::POST,
                "/events".to_owned(),
                Some(json!({"url_id": id, "event_type": "note"})),
            ),
            (Method::DELETE, format!("/urls/{id}"), None),
        ]
    };
    for ((method, path, body), (_, missing_path, missing_body)) in
        routes(o.bob_link.id).into_iter().zip(routes(missing))
    {
        let theirs = as_key(&app, &o.ada_key, method.clone(), &path, body).await;
        let absent = as_key(
            &app,
            &o.ada_key,
            method.clone(),
            &missing_path,
            missing_body,
        )
        .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            theirs.body::<ErrorBody>(),
            absent.body::<ErrorBody>(),
            "{method} {path}: the same answer as a missing link"
        );
    }
    let after: (String, bool, Option<String>) =
        sqlx::query_as("SELECT original_url, is_active, title FROM urls WHERE id = $1")
            .bind(o.bob_link.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(after, before, "bob's link is untouched");
    // Bob's own key still reaches it; so does an admin key without an owner.
    for key in [o.bob_key.as_str(), ADMIN] {
        as_key(
            &app,
            key,
            Method::GET,
            &format!("/urls/{}", o.bob_link.id),
            None,
        )
        .await
        .expect(StatusCode::OK);
    }
}

#[sqlx::test]
async fn an_owners_lists_hold_its_own_with_exact_totals(pool: PgPool) {
    let app = app_with_keys(pool);
    let o = owners(&app).await;
    as_key(
        &app,
        &o.ada_key,
        Method::POST,
        "/events",
        Some(json!({"url_id": o.ada_link.id, "event_type": "note"})),
    )
    .await
    .expect(StatusCode::CREATED);
    let urls = as_key(&app, &o.ada_key, Method::GET, "/urls", None).await;
    let listed: Vec<Link> = urls.expect_body(StatusCode::OK);
    assert_eq!(
        listed.iter().map(|l| l.id).collect::<Vec<_>>(),
        [o.ada_link.id]
    );
    assert_eq!(urls.header("x-total-count"), Some("1"));
    let events = as_key(&app, &o.ada_key, Method::GET, "/events", None).await;
    let listed: Vec<Event> = events.expect_body(StatusCode::OK);
    assert!(
        listed.iter().all(|e| e.url_id == o.ada_link.id),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 2, "created and the note: {listed:?}");
    assert_eq!(events.header("x-total-count"), Some("2"));
    for path in [
        format!("/urls?user_id={}", o.bob.id),
        format!("/events?user_id={}", o.bob.id),
        format!("/events?url_id={}", o.bob_link.id),
    ] {
        let response = as_key(&app, &o.ada_key, Method::GET, &path, None).await;
        let items: Vec<Value> = response.expect_body(StatusCode::OK);
        assert!(items.is_empty(), "{path}: {items:?}");
        assert_eq!(response.header("x-total-count"), Some("0"), "{path}");
    }
    let users = as_key(&app, &o.ada_key, Method::GET, "/users", None).await;
    let listed: Vec<User> = users.expect_body(StatusCode::OK);
    assert_eq!(listed, std::slice::from_ref(&o.ada));
    assert_eq!(users.header("x-total-count"), Some("1"));
    as_key(
        &app,
        &o.ada_key,
        Method::GET,
        &format!("/users/{}", o.ada.id),
        None,
    )
    .await
    .expect(StatusCode::OK);
    let theirs = as_key(
        &app,
        &o.ada_key,
        Method::GET,
        &format!("/users/{}", o.bob.id),
        None,
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
    let absent = as_key(&app, &o.ada_key, Method::GET, "/users/9000000", None)
        .await
        .expect_error(StatusCode::NOT_FOUND);
    assert_eq!(theirs, absent);
    // The admin key still sees everyone's.
    let all: Vec<Link> = as_key(&app, ADMIN, Method::GET, "/urls", None)
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(all.len(), 2);
    let stats: LinkStats = as_key(
        &app,
        &o.ada_key,
        Method::GET,
        &format!("/urls/{}/stats", o.ada_link.id),
        None,
    )
    .await
    .expect_body(StatusCode::OK);
    assert_eq!(stats.url_id, o.ada_link.id);
}

#[sqlx::test]
async fn keys_are_made_listed_and_revoked_by_admins_only_and_the_secret_is_shown_once(
    pool: PgPool,
) {
    let app = app_with_keys(pool.clone());
    let ada = make_user(&app, "ada").await;
    let made = make_key(
        &app,
        json!({"name": "reporting", "scope": "read", "expires_at": "2100-01-01T00:00:00"}),
    )
    .await;
    assert_eq!(
        (made.name.as_str(), made.scope.as_str(), made.user_id),
        ("reporting", "read", None)
    );
    assert_eq!(made.expires_at.as_deref(), Some("2100-01-01T00:00:00"));
    assert!(!made.created_at.is_empty() && made.last_used_at.is_none());
    assert!(
        made.key.starts_with("sk_") && made.key.len() == 43,
        "{}",
        made.key
    );
    // Only a digest is stored: no column holds the secret.
    let stored: String = sqlx::query_scalar("SELECT row_to_json(k)::text FROM api_keys k")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.contains(&made.key[3..]), "{stored}");
    assert_eq!(key_check(&app, &made.key).await, StatusCode::OK);
    // Not admin: no key management, for a read key, a write key or an owner key.
    let owner = make_key(
        &app,
        json!({"name": "ada-key", "scope": "write", "user_id": ada.id}),
    )
    .await;
    for key in [made.key.as_str(), owner.key.as_str()] {
        for (method, path) in [
            (Method::GET, "/api-keys".to_owned()),
            (Method::POST, "/api-keys".to_owned()),
            (Method::DELETE, format!("/api-keys/{}", made.id)),
        ] {
            let body = (method == Method::POST).then(|| json!({"name": "x", "scope": "read"}));
            as_key(&app, key, method.clone(), &path, body)
                .await
                .expect_error(StatusCode::FORBIDDEN);
        }
    }
    let listed = as_key(&app, ADMIN, Method::GET, "/api-keys", None).await;
    let keys: Vec<ListedKey> = listed.expect_body(StatusCode::OK);
    assert_eq!(
        keys.iter()
            .map(|k| (k.id, k.name.as_str()))
            .collect::<Vec<_>>(),
        [(made.id, "reporting"), (owner.id, "ada-key")]
    );
    assert_eq!(listed.header("x-total-count"), Some("2"));
    delete_as_admin(&app, &format!("/api-keys/{}", made.id))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(key_check(&app, &made.key).await, StatusCode::UNAUTHORIZED);
    delete_as_admin(&app, &format!("/api-keys/{}", made.id))
        .await
        .expect_error(StatusCode::NOT_FOUND);
    // A revoked key's name is free again.
    make_key(&app, json!({"name": "reporting", "scope": "read"})).await;
}

#[sqlx::test]
async fn bad_key_requests_are_4xx_naming_the_field(pool: PgPool) {
    let app = app_with_keys(pool);
    let ada = make_user(&app, "ada").await;
    make_key(&app, json!({"name": "taken", "scope": "read"})).await;
    for (body, status, field) in [
        (json!({"name": "", "scope": "read"}), 400, "name"),
        (json!({"name": "a b", "scope": "read"}), 400, "name"),
        (json!({"name": "x", "scope": "root"}), 400, "scope"),
        (
            json!({"name": "x", "scope": "admin", "user_id": ada.id}),
            400,
            "scope",
        ),
        (
            json!({"name": "x", "scope": "read", "expires_at": "2000-01-01T00:00:00"}),
            400,
            "expires_at",
        ),
        (json!({"name": "taken", "scope": "read"}), 409, "name"),
        // A configured key's name: the file's writer.
        (json!({"name": "writer", "scope": "read"}), 409, "name"),
    ] {
        let error = as_key(&app, ADMIN, Method::POST, "/api-keys", Some(body.clone()))
            .await
            .expect_error(StatusCode::from_u16(status).unwrap());
        assert!(error.names(field), "{body}: {error}");
    }
    as_key(
        &app,
        ADMIN,
        Method::POST,
        "/api-keys",
        Some(json!({"name": "x", "scope": "read", "user_id": 9_000_000})),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn deleting_a_user_revokes_their_keys_and_keeps_their_links_off(pool: PgPool) {
    let app = app_with_keys(pool);
    let ada = make_user(&app, "ada").await;
    let key = make_key(
        &app,
        json!({"name": "ada-key", "scope": "read", "user_id": ada.id}),
    )
    .await;
    assert_eq!(key_check(&app, &key.key).await, StatusCode::OK);
    let link: Link = as_key(
        &app,
        ADMIN,
        Method::POST,
        "/urls",
        Some(json!({"original_url": "https://example.com/ada", "user_id": ada.id})),
    )
    .await
    .expect_body(StatusCode::CREATED);
    delete_as_admin(&app, &format!("/users/{}", ada.id))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(key_check(&app, &key.key).await, StatusCode::UNAUTHORIZED);
    // Deleting her turned her link off, and nobody turns it back on.
    let error = as_key(
        &app,
        ADMIN,
        Method::PUT,
        &format!("/urls/{}", link.id),
        Some(json!({"is_active": true})),
    )
    .await
    .expect_error(StatusCode::CONFLICT);
    assert!(error.names("is_active"), "{error}");
}

/// Polls `path` with `key` on `app` until it answers `status`; how long that took.
async fn time_until(app: &TestApp, key: &str, status: StatusCode, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if key_check(app, key).await == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not {status} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[sqlx::test]
async fn a_key_revoked_on_one_replica_is_refused_by_another_within_a_second(pool: PgPool) {
    let first = app_with_keys(pool.clone());
    let second = app_with_keys(pool);
    assert!(second.app.wait_for_keys(Duration::from_secs(10)).await);
    let made = make_key(&first, json!({"name": "roaming", "scope": "read"})).await;
    let taken = time_until(&second, &made.key, StatusCode::OK, Duration::from_secs(1)).await;
    delete_as_admin(&first, &format!("/api-keys/{}", made.id))
        .await
        .expect(StatusCode::NO_CONTENT);
    let refused = time_until(
        &second,
        &made.key,
        StatusCode::UNAUTHORIZED,
        Duration::from_secs(1),
    )
    .await;
    println!("the other replica took the new key after {taken:?} and refused it after {refused:?}");
}

#[sqlx::test]
async fn an_expired_key_is_refused(pool: PgPool) {
    let app = app_with_keys(pool);
    // Expiries are written to the second: at least one second ahead, at most two.
    let expiry = chrono::Utc::now() + chrono::Duration::seconds(2);
    let made = make_key(
        &app,
        json!({"name": "short-lived", "scope": "read",
               "expires_at": expiry.format("%Y-%m-%dT%H:%M:%S").to_string()}),
    )
    .await;
    let until_expiry = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
    if until_expiry > Duration::from_millis(300) {
        assert_eq!(key_check(&app, &made.key).await, StatusCode::OK);
    }
    time_until(
        &app,
        &made.key,
        StatusCode::UNAUTHORIZED,
        Duration::from_secs(10),
    )
    .await;
    assert!(chrono::Utc::now() >= expiry - chrono::Duration::seconds(1));
}

#[sqlx::test]
async fn stats_across_links_hold_an_owner_keys_own_links_and_every_link_for_the_rest(pool: PgPool) {
    let app = app_with_keys(pool);
    let o = owners(&app).await;
    for (link, clicks) in [(&o.ada_link, 3), (&o.bob_link, 2)] {
        for _ in 0..clicks {
            app.get(&format!("/{}", link.short_code)).await;
        }
    }
    app.clicks().flush().await;
    // (key, whose links it reads, their clicks, the links by clicks)
    let cases = [
        (&o.ada_key, Some(o.ada.id), 3, vec![(o.ada_link.id, 3)]),
        (&o.bob_key, Some(o.bob.id), 2, vec![(o.bob_link.id, 2)]),
        (
            &ADMIN.to_owned(),
            None,
            5,
            vec![(o.ada_link.id, 3), (o.bob_link.id, 2)],
        ),
    ];
    for (key, owner, clicks, by_link) in cases {
        let stats: ScopeStats = as_key(&app, key, Method::GET, "/stats", None)
            .await
            .expect_body(StatusCode::OK);
        assert_eq!(stats.user_id, owner);
        // The test client sends no user agent: every click is a bot's.
        assert_eq!((stats.clicks, stats.bots), (clicks, clicks), "{owner:?}");
        let rows: Vec<KeyClicks> = as_key(&app, key, Method::GET, "/stats/link?class=all", None)
            .await
            .expect_body(StatusCode::OK);
        let listed: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| (r.key.as_deref().unwrap().parse().unwrap(), r.clicks))
            .collect();
        assert_eq!(listed, by_link, "{owner:?}");
    }
}

/// A tag count as `GET /tags` lists it.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagCount {
    tag: String,
    links: i64,
}

fn tag_count(tag: &str, links: i64) -> TagCount {
    TagCount {
        tag: tag.to_owned(),
        links,
    }
}

async fn tags_seen_by(app: &TestApp, key: &str, path: &str) -> Vec<TagCount> {
    as_key(app, key, Method::GET, path, None)
        .await
        .expect_body(StatusCode::OK)
}

#[sqlx::test]
async fn an_owner_keys_tags_count_and_find_its_own_links_only(pool: PgPool) {
    let app = app_with_keys(pool);
    let o = owners(&app).await;
    for (key, link, tags) in [
        (&o.ada_key, &o.ada_link, json!(["sale", "q4"])),
        (&o.bob_key, &o.bob_link, json!(["Sale"])),
    ] {
        as_key(
            &app,
            key,
            Method::PUT,
            &format!("/urls/{}", link.id),
            Some(json!({ "tags": tags })),
        )
        .await
        .expect(StatusCode::OK);
    }
    assert_eq!(
        tags_seen_by(&app, &o.ada_key, "/tags").await,
        [tag_count("q4", 1), tag_count("sale", 1)]
    );
    assert_eq!(
        tags_seen_by(&app, ADMIN, "/tags").await,
        [tag_count("sale", 2), tag_count("q4", 1)]
    );
    // Naming another user gets an owner key nothing, as a missing one would.
    let others = format!("/tags?user_id={}", o.bob.id);
    assert!(tags_seen_by(&app, &o.ada_key, &others).await.is_empty());

    let found = as_key(&app, &o.ada_key, Method::GET, "/urls?tag=sale", None).await;
    assert_eq!(found.header("x-total-count"), Some("1"));
    let found: Vec<Link> = found.expect_body(StatusCode::OK);
    assert_eq!(
        found
            .iter()
            .map(|link| (link.id, link.tags.clone()))
            .collect::<Vec<_>>(),
        [(o.ada_link.id, vec!["q4".to_owned(), "sale".to_owned()])]
    );
    let everyones = as_key(&app, ADMIN, Method::GET, "/urls?tag=SALE", None).await;
    assert_eq!(everyones.header("x-total-count"), Some("2"));
}
