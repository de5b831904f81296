//! `GET /stats/link`: links ranked from what the fold lists of each scope's days
//! (migration `20261207000010`): after many folds each day's list holds exactly the
//! day's 100 first links of each class, and a read gives the exact figures of the links
//! it ranks, pending clicks included.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, Utc};
use sqlx::PgPool;

use super::fold;
use crate::helpers::TestApp;
use crate::helpers::bodies::KeyClicks;

const LINKS: usize = 240;
const LISTED: usize = 100;
const ROUNDS: u64 = 4;

/// A link's clicks of one day by class: (humans, bots, previews).
type Classes = [i64; 3];

/// A deterministic spread of small counts (xorshift), different per link, day and round.
fn counts(link: usize, day: i64, round: u64) -> Classes {
    let mut x = (link as u64 + 1) * 0x9E37_79B9 + (day as u64 + 7) * 0x85EB_CA6B + round * 31;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 9) as i64
    };
    [next(), next() / 3, next() / 4]
}

/// The links whose day `values` (one per link of the scope) are among the 100 first by
/// `class` (0..3, or 3 for all), most first, ties by id: the key ordering of the API.
fn first_by(values: &BTreeMap<i64, Classes>, class: usize) -> Vec<(i64, i64)> {
    let mut ranked: Vec<(i64, i64)> = values
        .iter()
        .map(|(&id, c)| (id, if class == 3 { c.iter().sum() } else { c[class] }))
        .filter(|&(_, n)| n > 0)
        .collect();
    ranked.sort_by_key(|&(id, n)| (-n, id));
    ranked.truncate(LISTED);
    ranked
}

/// A `link` breakdown's rows as (link id, clicks).
fn ids_and_clicks(rows: &[KeyClicks]) -> Vec<(i64, i64)> {
    rows.iter()
        .map(|r| (r.key.as_deref().unwrap().parse().unwrap(), r.clicks))
        .collect()
}

/// Appends the round's clicks of every link on each day as pending deltas.
async fn add_round(pool: &PgPool, links: &[(i64, Option<i64>)], days: &[NaiveDate], round: u64) {
    for (i, &(id, owner)) in links.iter().enumerate() {
        for (d, day) in days.iter().enumerate() {
            let [humans, bots, previews] = counts(i, d as i64, round);
            sqlx::query(
                "INSERT INTO click_deltas (url_id, user_id, day, referrer_host, clicks, humans, \
                 bots, previews, visitors, last_click_at) VALUES ($1, $2, $3, '', $4, $5, $6, $7, 0, now())",
            )
            .bind(id)
            .bind(owner)
            .bind(day)
            .bind((humans + bots + previews) as i32)
            .bind(humans as i32)
            .bind(bots as i32)
            .bind(previews as i32)
            .execute(pool)
            .await
            .unwrap();
        }
    }
}

/// Every link's clicks by scope and day, summed over the rounds so far.
fn expected(
    links: &[(i64, Option<i64>)],
    days: &[NaiveDate],
    rounds: u64,
) -> BTreeMap<(i64, NaiveDate), BTreeMap<i64, Classes>> {
    let mut scopes: BTreeMap<(i64, NaiveDate), BTreeMap<i64, Classes>> = BTreeMap::new();
    for (i, &(id, owner)) in links.iter().enumerate() {
        for (d, &day) in days.iter().enumerate() {
            let mut total = [0; 3];
            for round in 0..rounds {
                for (t, n) in total.iter_mut().zip(counts(i, d as i64, round)) {
                    *t += n;
                }
            }
            for scope in std::iter::once(0).chain(owner) {
                scopes.entry((scope, day)).or_default().insert(id, total);
            }
        }
    }
    scopes
}

#[sqlx::test]
async fn each_days_list_holds_its_first_links_of_every_class_and_reads_are_exact(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let ada = app.create_user("ada", "ada@example.com").await;
    let mut links = Vec::new();
    for i in 0..LINKS {
        let owner = (i % 3 == 0).then_some(ada.id);
        let body =
            serde_json::json!({"original_url": format!("https://e.example/{i}"), "user_id": owner});
        links.push((app.create_link(body).await.id, owner));
    }
    let today = Utc::now().date_naive();
    let days = [today - Duration::days(2), today - Duration::days(1), today];

    for round in 0..ROUNDS {
        add_round(&pool, &links, &days, round).await;
        fold(&app).await;
    }
    let want = expected(&links, &days, ROUNDS);
    for (&(scope, day), values) in &want {
        let mut kept = BTreeSet::new();
        for class in 0..4 {
            kept.extend(first_by(values, class).into_iter().map(|(id, _)| id));
        }
        let listed: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT url_id, humans, bots, previews FROM scope_top_links \
             WHERE scope = $1 AND day = $2 ORDER BY url_id",
        )
        .bind(scope)
        .bind(day)
        .fetch_all(&pool)
        .await
        .unwrap();
        let listed_ids: BTreeSet<i64> = listed.iter().map(|r| r.0).collect();
        assert_eq!(listed_ids, kept, "scope {scope}, {day}");
        for (id, humans, bots, previews) in listed {
            assert_eq!([humans, bots, previews], values[&id], "link {id}, {day}");
        }
    }

    // Listing every scope day again from the links' days (what the migration and an
    // operator's repair do) gives the lists the folds kept.
    let lists = "SELECT scope, day, url_id, humans, bots, previews FROM scope_top_links \
                 ORDER BY scope, day, url_id";
    type Listed = (i64, NaiveDate, i64, i64, i64, i64);
    let folded: Vec<Listed> = sqlx::query_as(lists).fetch_all(&pool).await.unwrap();
    sqlx::query("SELECT relist_scope_top_links()")
        .execute(&pool)
        .await
        .unwrap();
    let relisted: Vec<Listed> = sqlx::query_as(lists).fetch_all(&pool).await.unwrap();
    assert_eq!(relisted, folded);

    // A round left pending: a read ranks by the folded and the pending clicks.
    add_round(&pool, &links, &days, ROUNDS).await;
    let want = expected(&links, &days, ROUNDS + 1);
    for (class, name) in ["human", "bot", "preview", "all"].into_iter().enumerate() {
        let query = format!("/stats/link?from={today}&to={today}&class={name}&limit={LISTED}");
        let rows: Vec<KeyClicks> = app.get(&query).await.expect_body(StatusCode::OK);
        assert_eq!(
            ids_and_clicks(&rows),
            first_by(&want[&(0, today)], class),
            "{name}"
        );
    }

    // Over the three days, after a fold: ten links with one strong day (200 people on
    // the middle day, above any other link's three days) are listed that day, so they
    // are the ten first, each with its exact three-day sum. A link whose days are all
    // ordinary ranks only where it was listed: what docs/api.md says of `link`.
    for &(id, owner) in &links[..10] {
        sqlx::query(
            "INSERT INTO click_deltas (url_id, user_id, day, referrer_host, clicks, humans, \
             bots, previews, visitors, last_click_at) VALUES ($1, $2, $3, '', 200, 200, 0, 0, 0, now())",
        )
        .bind(id)
        .bind(owner)
        .bind(days[1])
        .execute(&pool)
        .await
        .unwrap();
    }
    fold(&app).await;
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    for day in days {
        for (&id, c) in &want[&(0, day)] {
            *sums.entry(id).or_default() += c.iter().sum::<i64>();
        }
    }
    for &(id, _) in &links[..10] {
        *sums.get_mut(&id).unwrap() += 200;
    }
    let query = format!("/stats/link?from={}&to={today}&class=all&limit=10", days[0]);
    let rows: Vec<KeyClicks> = app.get(&query).await.expect_body(StatusCode::OK);
    let mut exact: Vec<(i64, i64)> = sums.into_iter().collect();
    exact.sort_by_key(|&(id, n)| (-n, id));
    exact.truncate(10);
    assert!(exact.iter().all(|&(id, _)| id <= links[9].0), "{exact:?}");
    assert_eq!(ids_and_clicks(&rows), exact);

    let error = app
        .get("/stats/link?limit=101")
        .await
        .expect_error(StatusCode::BAD_REQUEST);
    assert!(error.names("limit"), "{error:?}");
}
