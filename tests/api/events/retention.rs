//! Raw click events live in monthly partitions: a click of a month without one waits in
//! the default partition until the upkeep gives it its month, and retention removes
//! whole old months, lowering the list totals exactly while the link's rollups (total,
//! days, referrers) keep every click.

use super::*;
use shortener_service::upkeep::{self, UpkeepSettings};

/// Inserts `n` click events on the link, `age` ago, through the parent table as any
/// writer would (the triggers count them).
async fn clicks_aged(pool: &PgPool, url_id: i64, n: i64, age: &str, referrer: &str) {
    sqlx::query(
        "INSERT INTO events (url_id, event_type, timestamp, details) \
         SELECT $1, 'click', now() - $2::interval, jsonb_build_object('referrer', $3::text) \
         FROM generate_series(1, $4)",
    )
    .bind(url_id)
    .bind(age)
    .bind(referrer)
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap();
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Waits for the replica's own upkeep run at start, so the runs below are not skipped
/// for holding the same lock.
async fn wait_for_the_first_upkeep(app: &TestApp) {
    for _ in 0..200 {
        if app
            .state
            .metrics()
            .upkeep_runs
            .with_label_values(&["done"])
            .get()
            > 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the upkeep did not run at start");
}

#[sqlx::test]
async fn old_clicks_get_their_month_and_retention_keeps_only_their_rollups(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    wait_for_the_first_upkeep(&app).await;
    let link = app.shorten("https://example.com/old").await;
    let id = link.id;
    clicks_aged(&pool, id, 3, "800 days", "https://old.example").await;
    clicks_aged(&pool, id, 2, "0 seconds", "").await;
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM events_clicks_default").await,
        3
    );

    upkeep::run_once(app.db(), UpkeepSettings::default(), app.state.metrics()).await;
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM events_clicks_default").await,
        0
    );
    let month_of_old_clicks = scalar(
        &pool,
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'events_clicks'::regclass \
           AND c.relname = 'events_clicks_' || to_char(now() AT TIME ZONE 'UTC' - interval '800 days', 'YYYYMM')",
    )
    .await;
    assert_eq!(month_of_old_clicks, 1);
    let clicks_path = format!("/events?url_id={id}&event_type=click");
    let response = app.get(&clicks_path).await;
    assert_eq!(response.expect_body::<Vec<Event>>(StatusCode::OK).len(), 5);
    assert_eq!(response.header("x-total-count"), Some("5"));

    // Rounds of 2 clicks: the 3 old ones take two rounds, and every count is exact.
    let retention = UpkeepSettings {
        click_retention: Some(chrono::Duration::days(400)),
        retention_round: 2,
        ..UpkeepSettings::default()
    };
    upkeep::run_once(app.db(), retention, app.state.metrics()).await;
    assert_eq!(app.state.metrics().clicks_expired.get(), 3);
    assert_eq!(
        scalar(
            &pool,
            "SELECT count(*) FROM pg_class WHERE relname = 'events_clicks_' || \
             to_char(now() AT TIME ZONE 'UTC' - interval '800 days', 'YYYYMM')"
        )
        .await,
        0,
        "the emptied month is dropped"
    );
    assert_eq!(
        scalar(
            &pool,
            &format!("SELECT retained FROM link_clicks_now WHERE url_id = {id}")
        )
        .await,
        2
    );
    let response = app.get(&clicks_path).await;
    assert_eq!(response.expect_body::<Vec<Event>>(StatusCode::OK).len(), 2);
    assert_eq!(response.header("x-total-count"), Some("2"));
    let all = app.get("/events").await;
    assert_eq!(
        all.header("x-total-count").unwrap(),
        scalar(&pool, "SELECT count(*) FROM events")
            .await
            .to_string()
    );
    // The audit trail of the link (its `created` event) is not a click: it stays.
    assert_eq!(app.events_of_type(id, "created").await.len(), 1);

    let stats = app
        .link_stats(id)
        .await
        .expect_body::<LinkStats>(StatusCode::OK);
    assert_eq!(stats.clicks, 5, "{stats}");
    let referrers = &stats.top_referrers;
    assert_eq!(
        referrers[0].referrer.as_deref(),
        Some("old.example"),
        "{stats}"
    );
    assert_eq!(referrers[0].clicks, 3);
    assert_eq!(referrers[1].referrer, None);
    assert_eq!(referrers[1].clicks, 2);
    let last_day = stats.clicks_by_day.last().unwrap();
    assert!(last_day.clicks >= 1, "{stats}");
}

#[sqlx::test]
async fn one_replica_at_a_time_runs_the_upkeep(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    wait_for_the_first_upkeep(&app).await;
    // Another session holds the upkeep lock, as a second replica's run would.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shortener.events_upkeep'))")
        .execute(&mut *holder)
        .await
        .unwrap();
    upkeep::run_once(app.db(), UpkeepSettings::default(), app.state.metrics()).await;
    assert_eq!(
        app.state
            .metrics()
            .upkeep_runs
            .with_label_values(&["skipped"])
            .get(),
        1
    );
    holder.rollback().await.unwrap();
    upkeep::run_once(app.db(), UpkeepSettings::default(), app.state.metrics()).await;
    assert_eq!(
        app.state
            .metrics()
            .upkeep_runs
            .with_label_values(&["done"])
            .get(),
        2
    );
}
