//! Visit caps: exactly `max_visits` people get through, with three replicas (processes of
//! their own, sharing Postgres and a private Redis) and many concurrent clients, with
//! Redis up and then killed halfway; bots, link previews, prefetches and HEAD requests
//! never use up a visit; and the visit that uses up the last one ends the link on every
//! replica, for everyone.

use std::sync::Arc;

use super::*;
use crate::helpers::process::{Spawned, request_with_headers, serve};
use crate::helpers::servers::RedisServer;
use crate::redirect::send_with;

const CLIENTS: usize = 24;

/// Three replicas over the test database and `redis`.
async fn replicas(pool: &PgPool, redis: &RedisServer) -> Vec<(Spawned, u16)> {
    let redis_url = redis.url();
    let mut started = Vec::new();
    for _ in 0..3 {
        started.push(serve(pool, &[("REDIS_URL", redis_url.as_str())]).await);
    }
    started
}

/// `CLIENTS` concurrent clients, each sending `each` visits by a person to `code`,
/// spread over the replicas; the status of every answer.
async fn visit_concurrently(ports: &[u16], code: &str, each: usize) -> Vec<u16> {
    let path = Arc::new(format!("/{code}"));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (ports, path) = (ports.to_vec(), path.clone());
        clients.spawn(async move {
            let mut statuses = Vec::with_capacity(each);
            for n in 0..each {
                let port = ports[(client + n) % ports.len()];
                let response =
                    request_with_headers(port, "GET", &path, None, &[("user-agent", BROWSER)])
                        .await
                        .expect("a replica answers");
                statuses.push(response.status);
            }
            statuses
        });
    }
    clients.join_all().await.into_iter().flatten().collect()
}

/// A person's visit to `code` is redirected to `target`.
async fn person_gets_through(app: &TestApp, code: &str, target: &str) {
    assert_redirects_to(&visit(app, code, "").await, target);
}

/// A person's visit to `code` finds the link ended: 410.
async fn person_finds_it_ended(app: &TestApp, code: &str) {
    visit(app, code, "").await.expect_error(StatusCode::GONE);
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

#[sqlx::test]
async fn exactly_max_visits_people_get_through_three_replicas_with_redis_and_then_without(
    pool: PgPool,
) {
    let mut redis = RedisServer::start();
    let app = TestApp::new(pool.clone());
    let link = app
        .create_link(json!({"original_url": "https://example.com/drop", "max_visits": 100}))
        .await;
    let servers = replicas(&pool, &redis).await;
    let ports: Vec<u16> = servers.iter().map(|(_, port)| *port).collect();

    // 72 visits, all under the cap.
    let first = visit_concurrently(&ports, &link.short_code, 3).await;
    assert_eq!(count(&first, 302), CLIENTS * 3, "{first:?}");
    // Redis dies: the cap's count is in Postgres, and stays exact.
    redis.kill();
    let second = visit_concurrently(&ports, &link.short_code, 3).await;
    assert_eq!(count(&second, 302), 100 - CLIENTS * 3, "{second:?}");
    assert_eq!(
        count(&second, 410),
        CLIENTS * 3 - (100 - CLIENTS * 3),
        "{second:?}"
    );

    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read.visits_left, Some(0));
    // Every replica answers the ended link as expired, people and bots alike.
    for port in ports {
        for agent in [BROWSER, "Googlebot/2.1 (+http://www.google.com/bot.html)"] {
            let path = format!("/{}", link.short_code);
            let response = request_with_headers(port, "GET", &path, None, &[("user-agent", agent)])
                .await
                .unwrap();
            assert_eq!(response.status, 410, "{agent} on {port}");
        }
    }
    drop(servers);
}

#[sqlx::test]
async fn exactly_max_visits_people_get_through_concurrent_clients_on_one_link_with_a_fallback(
    pool: PgPool,
) {
    let redis = RedisServer::start();
    let app = TestApp::new(pool.clone());
    let link = app
        .create_link(json!({"original_url": "https://example.com/once",
                            "expired_url": "https://example.com/gone",
                            "max_visits": 1}))
        .await;
    let servers = replicas(&pool, &redis).await;
    let ports: Vec<u16> = servers.iter().map(|(_, port)| *port).collect();
    let path = Arc::new(format!("/{}", link.short_code));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (port, path) = (ports[client % ports.len()], path.clone());
        clients.spawn(async move {
            request_with_headers(port, "GET", &path, None, &[("user-agent", BROWSER)])
                .await
                .expect("a replica answers")
                .header("location")
                .map(str::to_owned)
        });
    }
    let locations: Vec<_> = clients.join_all().await;
    let through = locations
        .iter()
        .filter(|l| l.as_deref() == Some("https://example.com/once"))
        .count();
    let sent_on = locations
        .iter()
        .filter(|l| l.as_deref() == Some("https://example.com/gone"))
        .count();
    assert_eq!((through, sent_on), (1, CLIENTS - 1), "{locations:?}");
    drop(servers);
}

#[sqlx::test]
async fn bots_previews_prefetches_and_head_requests_never_use_up_a_visit(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com/capped", "max_visits": 2}))
        .await;
    let path = format!("/{}", link.short_code);
    for _ in 0..3 {
        for headers in [
            vec![(
                "user-agent",
                "Googlebot/2.1 (+http://www.google.com/bot.html)",
            )],
            vec![(
                "user-agent",
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            )],
            vec![("user-agent", "facebookexternalhit/1.1")],
            vec![("user-agent", BROWSER), ("sec-purpose", "prefetch")],
            vec![],
        ] {
            let response = send_with(&app, Method::GET, &path, &headers).await;
            assert_eq!(response.status, StatusCode::FOUND, "{headers:?}");
        }
        let response = send_with(&app, Method::HEAD, &path, &[("user-agent", BROWSER)]).await;
        assert_eq!(response.status, StatusCode::FOUND);
    }
    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read.visits_left, Some(2), "no visit used");
    // Two people get through; the third finds the link ended.
    for _ in 0..2 {
        person_gets_through(&app, &link.short_code, "https://example.com/capped").await;
    }
    person_finds_it_ended(&app, &link.short_code).await;
    let read: Link = app.get_link(link.id).await.expect_body(StatusCode::OK);
    assert_eq!(read.visits_left, Some(0));
}

#[sqlx::test]
async fn a_raised_cap_lets_people_through_again_and_a_removed_one_counts_afresh(pool: PgPool) {
    let app = TestApp::new(pool);
    let link = app
        .create_link(json!({"original_url": "https://example.com/c", "max_visits": 1}))
        .await;
    person_gets_through(&app, &link.short_code, "https://example.com/c").await;
    person_finds_it_ended(&app, &link.short_code).await;
    let raised: Link = app
        .update_link(link.id, json!({"max_visits": 2}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        raised.visits_left,
        Some(1),
        "a changed cap goes on counting"
    );
    person_gets_through(&app, &link.short_code, "https://example.com/c").await;
    person_finds_it_ended(&app, &link.short_code).await;
    app.update_link(link.id, json!({"max_visits": null}))
        .await
        .expect(StatusCode::OK);
    person_gets_through(&app, &link.short_code, "https://example.com/c").await;
    let capped_again: Link = app
        .update_link(link.id, json!({"max_visits": 1}))
        .await
        .expect_body(StatusCode::OK);
    assert_eq!(
        capped_again.visits_left,
        Some(1),
        "a new cap counts from zero"
    );
}
