//! `X-Total-Count` is exact for every filter the lists offer, alone and combined, after
//! creates, edits, deactivations, deletions (of links and of their owner), custom events
//! and clicks: each total is compared with a `count(*)` of the same rows.

use super::*;
use sqlx::Connection;

/// `X-Total-Count` of `path`.
async fn total_of(app: &TestApp, path: &str) -> i64 {
    let response = app.get(path).await;
    response.expect(StatusCode::OK);
    response.header("x-total-count").unwrap().parse().unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test]
async fn every_total_matches_a_count_of_its_rows_after_every_kind_of_change(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let ada = app.create_user("ada", "ada@example.com").await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let gone = app.create_user("gone", "gone@example.com").await;
    let mut links = Vec::new();
    for (i, owner) in [
        Some(&ada),
        Some(&ada),
        Some(&bob),
        Some(&gone),
        Some(&gone),
        None,
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let link = app
            .create_link(
                json!({"original_url": format!("https://e.example/{i}"), "user_id": owner.map(|u| u.id)}),
            )
            .await;
        links.push(link);
    }
    app.update_link(links[0].id, json!({"is_active": false, "title": "off"}))
        .await
        .expect(StatusCode::OK);
    app.update_link(links[5].id, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    app.delete_link(links[2].id)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.delete_user(gone.id)
        .await
        .expect(StatusCode::NO_CONTENT);
    app.post_event(json!({"url_id": links[1].id, "user_id": ada.id, "event_type": "shared"}))
        .await;
    app.post_event(json!({"url_id": links[6].id, "event_type": "shared"}))
        .await;
    for (link, clicks) in [(&links[1], 3), (&links[6], 2)] {
        for _ in 0..clicks {
            app.get(&format!("/{}", link.short_code)).await;
        }
    }
    app.clicks().flush().await;

    let users = [&ada, &bob, &gone];
    // (list path, the count(*) of the same rows)
    let mut cases: Vec<(String, String)> = vec![(
        "/users".into(),
        "SELECT count(*) FROM users WHERE deleted_at IS NULL".into(),
    )];
    let live = "SELECT count(*) FROM urls WHERE deleted_at IS NULL";
    for active in [None, Some(true), Some(false)] {
        let (query, condition) = match active {
            Some(a) => (format!("is_active={a}&"), format!(" AND is_active = {a}")),
            None => (String::new(), String::new()),
        };
        cases.push((format!("/urls?{query}"), format!("{live}{condition}")));
        for user in users {
            let id = user.id;
            cases.push((
                format!("/urls?{query}user_id={id}"),
                format!("{live}{condition} AND user_id = {id}"),
            ));
        }
    }
    let types = [
        "created", "updated", "deleted", "click", "shared", "nothing",
    ];
    let mut url_filters = vec![None];
    url_filters.extend(links.iter().map(|l| Some(l.id)));
    let mut user_filters = vec![None];
    user_filters.extend(users.iter().map(|u| Some(u.id)));
    let mut type_filters = vec![None];
    type_filters.extend(types.iter().map(|t| Some(*t)));
    for url in &url_filters {
        for user in &user_filters {
            for event_type in &type_filters {
                let mut query = Vec::new();
                let mut sql = String::from("SELECT count(*) FROM events WHERE TRUE");
                if let Some(url) = url {
                    query.push(format!("url_id={url}"));
                    sql.push_str(&format!(" AND url_id = {url}"));
                }
                if let Some(user) = user {
                    query.push(format!("user_id={user}"));
                    sql.push_str(&format!(" AND user_id = {user}"));
                }
                if let Some(event_type) = event_type {
                    query.push(format!("event_type={event_type}"));
                    sql.push_str(&format!(" AND event_type = '{event_type}'"));
                }
                cases.push((format!("/events?{}", query.join("&")), sql));
            }
        }
    }
    for link in &links[..2] {
        let id = link.id;
        cases.push((
            format!("/urls/{id}/events"),
            format!("SELECT count(*) FROM events WHERE url_id = {id}"),
        ));
    }
    assert_eq!(cases.len(), 1 + 3 * 4 + 8 * 4 * 7 + 2);
    for (path, sql) in &cases {
        assert_eq!(
            total_of(&app, path).await,
            count(&pool, sql).await,
            "{path}"
        );
    }
    // The data really covers what the filters tell apart.
    assert!(count(&pool, "SELECT count(DISTINCT event_type) FROM events").await >= 5);
}

/// A link's totals keep one row per key however many backends write its events: the
/// shards that spread the shared totals would multiply a link's rows by up to 16, for
/// every link that ever had an event (issue 23).
#[sqlx::test]
async fn a_links_totals_keep_one_row_per_key_whatever_backend_writes_them(pool: PgPool) {
    const BACKENDS: usize = 8;
    let app = TestApp::new(pool.clone());
    let ada = app.create_user("ada", "ada@example.com").await;
    let link = app
        .create_link(json!({"original_url": "https://e.example/a", "user_id": ada.id}))
        .await;
    let mut conns = Vec::new();
    for _ in 0..BACKENDS {
        let options = pool.connect_options();
        conns.push(sqlx::PgConnection::connect_with(&options).await.unwrap());
    }
    let mut shards = std::collections::BTreeSet::new();
    for conn in &mut conns {
        let shard: i16 = sqlx::query_scalar("SELECT list_count_shard()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        shards.insert(shard);
        sqlx::query("INSERT INTO events (url_id, user_id, event_type) VALUES ($1, $2, 'shared')")
            .bind(link.id)
            .bind(ada.id)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for conn in conns {
        conn.close().await.unwrap();
    }
    assert!(
        shards.len() > 1,
        "the backends wrote from one shard only: {shards:?}"
    );

    let (rows, keys): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT filter) FROM list_counts \
         WHERE filter = 'url=' || $1 OR filter LIKE 'url=' || $1 || '&%'",
    )
    .bind(link.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    // The link alone, with its owner, with each of its two types, with both.
    assert_eq!(keys, 6);
    assert_eq!(rows, keys, "one row per key");
    let path = format!("/events?url_id={}&event_type=shared", link.id);
    assert_eq!(total_of(&app, &path).await, BACKENDS as i64);
    let path = format!("/urls/{}/events", link.id);
    assert_eq!(total_of(&app, &path).await, BACKENDS as i64 + 1);
}
