//! `DELETE /users/{id}?erase=true`: the user's name and email and their links' visitors'
//! referrers and user agents are gone from the tables, read with SQL rather than through
//! the API; every count stays, and no one else's data moves.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sqlx::PgPool;

use crate::access::{ADMIN, READER, WRITER, app_with_keys, request};
use crate::helpers::bodies::{Link, User};
use crate::helpers::{TestApp, TestResponse, tables_holding};
use serde_json::json;

/// What identifies Ada and her links' visitors: none of it may survive her erasure.
const ADA_NAME: &str = "ada-lovelace-erasable";
const ADA_EMAIL: &str = "ada.lovelace@erasable.example";
const ADA_REFERRER: &str = "https://ada-referrer.example/private?q=1";
const ADA_AGENT: &str = "AdaVisitorAgent/1.0";
/// The host of Ada's visitors' referrer, which the referrer-host rollup keeps.
const ADA_REFERRER_HOST: &str = "ada-referrer.example";
const ADA_SECRETS: [&str; 5] = [
    ADA_NAME,
    ADA_EMAIL,
    ADA_REFERRER,
    ADA_AGENT,
    ADA_REFERRER_HOST,
];

const BOB_REFERRER: &str = "https://bob-referrer.example/";
const BOB_AGENT: &str = "BobVisitorAgent/2.0";

/// `GET /{code}` as a browser sends it, with a referrer (if any) and a user agent.
async fn click(app: &TestApp, code: &str, referrer: Option<&str>, agent: &str) {
    let mut request = Request::get(format!("/{code}")).header(header::USER_AGENT, agent);
    if let Some(referrer) = referrer {
        request = request.header(header::REFERER, referrer);
    }
    let response = app.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(response.status, StatusCode::FOUND);
}

/// `DELETE /users/{id}` with the given query (e.g. `?erase=true`).
async fn delete_user(app: &TestApp, id: i64, query: &str) -> TestResponse {
    app.delete(&format!("/users/{id}{query}")).await
}

/// A user with a link per entry of `clicks`, each clicked as given (`None`: no referrer).
async fn user_with_clicks(
    app: &TestApp,
    name: &str,
    email: &str,
    clicks: &[&[(Option<&str>, &str)]],
) -> (User, Vec<Link>) {
    let user = app.create_user(name, email).await;
    let mut links = Vec::new();
    for (i, link_clicks) in clicks.iter().enumerate() {
        let link = app
            .create_link(
                json!({"original_url": format!("https://example.com/{i}"), "user_id": user.id}),
            )
            .await;
        for (referrer, agent) in *link_clicks {
            click(app, &link.short_code, *referrer, agent).await;
        }
        links.push(link);
    }
    app.clicks().flush().await;
    (user, links)
}

/// Ada with two clicked links, Bob with one.
async fn ada_and_bob(app: &TestApp) -> (User, Vec<Link>, User, Vec<Link>) {
    let (ada, ada_links) = user_with_clicks(
        app,
        ADA_NAME,
        ADA_EMAIL,
        &[
            &[
                (Some(ADA_REFERRER), ADA_AGENT),
                (Some(ADA_REFERRER), ADA_AGENT),
                (Some("https://other.example/"), ADA_AGENT),
                (None, ADA_AGENT),
            ],
            &[(Some(ADA_REFERRER), ADA_AGENT), (None, "curl/8")],
        ],
    )
    .await;
    let (bob, bob_links) = user_with_clicks(
        app,
        "bob",
        "bob@example.com",
        &[&[(Some(BOB_REFERRER), BOB_AGENT), (None, BOB_AGENT)]],
    )
    .await;
    (ada, ada_links, bob, bob_links)
}

/// Every click counter: totals, retained events, days and the sum of the referrer rows,
/// per link, as text rows to compare before and after, once the pending click deltas are
/// folded into the rollups.
async fn counts(pool: &PgPool) -> Vec<String> {
    sqlx::query("SELECT fold_click_deltas(1000000)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT format('link %s: %s clicks, %s retained, last %s', url_id, clicks, retained, \
                       last_click_at) FROM link_clicks \
         UNION ALL SELECT format('link %s on %s: %s', url_id, day, clicks) FROM link_daily_clicks \
         UNION ALL SELECT format('link %s: %s by referrer', url_id, sum(clicks)) \
                   FROM link_referrer_hosts GROUP BY url_id \
         UNION ALL SELECT format('link %s: %s click events', url_id, count(*)) \
                   FROM events WHERE event_type = 'click' GROUP BY url_id \
         UNION ALL SELECT format('list %s %s: %s', list, filter, sum(n)) \
                   FROM list_counts WHERE list IN ('clicks', 'events') GROUP BY list, filter \
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The referring-host rows of a link, `(host, clicks)` in host order.
async fn referrers(pool: &PgPool, url_id: i64) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT host, clicks FROM link_referrer_hosts_now WHERE url_id = $1 ORDER BY 1")
        .bind(url_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The details of a link's click events, in id order.
async fn click_details(pool: &PgPool, url_id: i64) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "SELECT details FROM events WHERE event_type = 'click' AND url_id = $1 ORDER BY id",
    )
    .bind(url_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Ada's row as she signed up, `deleted` or not, as [`user_row`] reads it.
fn ada_as_created(deleted: bool) -> (String, String, bool) {
    (ADA_NAME.to_owned(), ADA_EMAIL.to_owned(), deleted)
}

/// A user's row as stored: `(username, email, deleted)`.
async fn user_row(pool: &PgPool, id: i64) -> (String, String, bool) {
    sqlx::query_as("SELECT username, email, deleted_at IS NOT NULL FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn erasure_removes_name_email_and_click_details_from_the_tables_and_keeps_every_count(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let (ada, ada_links, bob, bob_links) = ada_and_bob(&app).await;
    for secret in ADA_SECRETS {
        assert!(
            !tables_holding(&pool, secret).await.is_empty(),
            "{secret} is stored before the erasure"
        );
    }
    let counts_before = counts(&pool).await;
    let bob_before = (
        user_row(&pool, bob.id).await,
        referrers(&pool, bob_links[0].id).await,
        click_details(&pool, bob_links[0].id).await,
    );

    delete_user(&app, ada.id, "?erase=true")
        .await
        .expect(StatusCode::NO_CONTENT);

    for secret in ADA_SECRETS {
        assert_eq!(
            tables_holding(&pool, secret).await,
            Vec::<String>::new(),
            "{secret} is gone from every table"
        );
    }
    assert_eq!(
        user_row(&pool, ada.id).await,
        (
            format!("erased-user-{}", ada.id),
            format!("erased-{}@invalid", ada.id),
            true
        )
    );
    for (link, clicks) in ada_links.iter().zip([4, 2]) {
        let details = click_details(&pool, link.id).await;
        assert_eq!(details, vec![json!({}); clicks], "link {}", link.id);
        assert_eq!(
            referrers(&pool, link.id).await,
            [(String::new(), clicks as i64)],
            "link {}: one 'none sent' row with every click",
            link.id
        );
    }
    assert_eq!(
        counts(&pool).await,
        counts_before,
        "every count is unchanged"
    );
    let bob_after = (
        user_row(&pool, bob.id).await,
        referrers(&pool, bob_links[0].id).await,
        click_details(&pool, bob_links[0].id).await,
    );
    assert_eq!(bob_after, bob_before, "another user's data is untouched");
    assert_eq!(
        bob_after.2[0],
        json!({"referrer": BOB_REFERRER, "user_agent": BOB_AGENT, "class": "human",
               "reason": "browser", "referrer_host": "bob-referrer.example"})
    );

    let link = app
        .get_link(ada_links[0].id)
        .await
        .expect_body::<Link>(StatusCode::OK);
    assert!(!link.is_active, "an erased user's links stop redirecting");
    app.get_user(ada.id)
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn erasure_after_a_plain_delete_erases_what_the_delete_kept_and_may_be_repeated(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone());
    let (ada, ada_links, ..) = ada_and_bob(&app).await;
    delete_user(&app, ada.id, "")
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        user_row(&pool, ada.id).await,
        ada_as_created(true),
        "a plain delete keeps the name and address"
    );
    assert!(!tables_holding(&pool, ADA_AGENT).await.is_empty());
    let counts_before = counts(&pool).await;

    for _ in 0..2 {
        delete_user(&app, ada.id, "?erase=true")
            .await
            .expect(StatusCode::NO_CONTENT);
        for secret in ADA_SECRETS {
            assert_eq!(tables_holding(&pool, secret).await, Vec::<String>::new());
        }
        assert_eq!(counts(&pool).await, counts_before);
        assert_eq!(
            referrers(&pool, ada_links[1].id).await,
            [(String::new(), 2)]
        );
    }
    delete_user(&app, 987_654, "?erase=true")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn erase_false_is_a_plain_delete(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (ada, ada_links, ..) = ada_and_bob(&app).await;
    delete_user(&app, ada.id, "?erase=false")
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(user_row(&pool, ada.id).await, ada_as_created(true));
    assert_eq!(
        click_details(&pool, ada_links[1].id).await[0],
        json!({"referrer": ADA_REFERRER, "user_agent": ADA_AGENT, "class": "human",
               "reason": "browser", "referrer_host": "ada-referrer.example"})
    );
    delete_user(&app, ada.id, "?erase=false")
        .await
        .expect_error(StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn erase_that_is_not_a_boolean_is_a_400_naming_erase_and_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let ada = app.create_user(ADA_NAME, ADA_EMAIL).await;
    for value in ["garbage", "", "1", "TRUE", "yes", "%00", "true%00"] {
        let error = delete_user(&app, ada.id, &format!("?erase={value}"))
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        assert!(error.names("erase"), "erase={value}: {error}");
    }
    assert_eq!(user_row(&pool, ada.id).await, ada_as_created(false));
}

#[sqlx::test]
async fn erasure_needs_an_admin_key(pool: PgPool) {
    let app = app_with_keys(pool.clone());
    let body = json!({"username": ADA_NAME, "email": ADA_EMAIL});
    let ada: User = app
        .send(request("POST", "/users", Some(ADMIN), Some(body)))
        .await
        .expect_body(StatusCode::CREATED);
    let path = format!("/users/{}?erase=true", ada.id);
    app.send(request("DELETE", &path, None, None))
        .await
        .expect_error(StatusCode::UNAUTHORIZED);
    for key in [READER, WRITER] {
        let error = app
            .send(request("DELETE", &path, Some(key), None))
            .await
            .expect_error(StatusCode::FORBIDDEN);
        assert_eq!(error.error, "this API key lacks the admin scope");
    }
    assert_eq!(
        user_row(&pool, ada.id).await,
        ada_as_created(false),
        "a refused erasure changes nothing"
    );
    app.send(request("DELETE", &path, Some(ADMIN), None))
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(tables_holding(&pool, ADA_EMAIL).await, Vec::<String>::new());
}

/// More clicks and referrers than one statement of the erasure takes (5,000), over a link
/// of its own and links rarely clicked, in more than one click partition: every round is
/// taken, and the counts stay.
#[sqlx::test]
async fn erasure_goes_round_by_round_over_more_clicks_than_one_statement_takes(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let (ada, ada_links) = user_with_clicks(
        &app,
        ADA_NAME,
        ADA_EMAIL,
        &[
            &[(Some(ADA_REFERRER), ADA_AGENT)],
            &[],
            &[(None, ADA_AGENT)],
        ],
    )
    .await;
    // 12,000 clicks with distinct referrers over 50 days (two or three months), through
    // the parent table so the triggers count them as the click writer's would be.
    sqlx::query(
        "INSERT INTO events (url_id, user_id, event_type, timestamp, details) \
         SELECT $1, $2, 'click', now() - g * interval '6 minutes', \
                jsonb_build_object('referrer', 'https://r' || g || '.example/', \
                                   'user_agent', $3::text) \
         FROM generate_series(1, 12000) g",
    )
    .bind(ada_links[1].id)
    .bind(ada.id)
    .bind(ADA_AGENT)
    .execute(&pool)
    .await
    .unwrap();
    let partitions: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT tableoid) FROM events_clicks WHERE url_id = $1")
            .bind(ada_links[1].id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(partitions >= 2, "the clicks span {partitions} partition(s)");
    let counts_before = counts(&pool).await;

    delete_user(&app, ada.id, "?erase=true")
        .await
        .expect(StatusCode::NO_CONTENT);

    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'click' AND details <> '{}' \
         AND url_id = ANY($1)",
    )
    .bind(ada_links.iter().map(|l| l.id).collect::<Vec<_>>())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "no click of hers keeps details");
    assert_eq!(
        referrers(&pool, ada_links[1].id).await,
        [(String::new(), 12_000)]
    );
    assert_eq!(
        referrers(&pool, ada_links[0].id).await,
        [(String::new(), 1)]
    );
    assert_eq!(counts(&pool).await, counts_before);
    for secret in ADA_SECRETS {
        assert_eq!(tables_holding(&pool, secret).await, Vec::<String>::new());
    }
}

#[sqlx::test]
async fn the_document_states_erase_as_an_optional_boolean_query_parameter(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = app.get("/openapi.json").await.expect(StatusCode::OK);
    let parameters = document["paths"]["/users/{id}"]["delete"]["parameters"]
        .as_array()
        .unwrap();
    let erase = parameters
        .iter()
        .find(|parameter| parameter["name"] == "erase")
        .expect("DELETE /users/{id} documents erase");
    assert_eq!(
        (&erase["in"], &erase["required"], &erase["schema"]["type"]),
        (&json!("query"), &json!(false), &json!("boolean")),
        "{erase}"
    );
}
