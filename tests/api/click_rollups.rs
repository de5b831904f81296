//! The fold of pending click deltas into the rollups, against real Postgres: writers and
//! folds running at once count every click once, and every total read in between (the
//! rollups plus what is pending, in one statement) equals the click events stored at that
//! moment; an updated click counts nothing, a removed one leaves its link's retained
//! clicks at once.

use crate::helpers::write_classified;
use chrono::Utc;
use shortener_domain::Click;
use shortener_store::clicks::BatchWrite;
use shortener_store::rollups::{self, Turn};
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const LINKS: i64 = 300;
const BATCHES_PER_WRITER: i64 = 40;

async fn links(pool: &PgPool, n: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "WITH owner AS (INSERT INTO users (username, email) VALUES ('owner', 'o@example.com') \
                        RETURNING id) \
         INSERT INTO urls (user_id, short_code, original_url) \
         SELECT (SELECT id FROM owner), 'l' || g, 'https://example.com/' || g \
         FROM generate_series(1, $1) g RETURNING id",
    )
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A batch over every link, one click each, with one of three referrers.
fn batch_over(ids: &[i64], round: i64) -> Vec<Click> {
    ids.iter()
        .enumerate()
        .map(|(i, &url_id)| Click {
            url_id,
            at: Utc::now(),
            referrer: Some(format!("https://r{}.example/", (i as i64 + round) % 3)),
            ..Click::default()
        })
        .collect()
}

/// Totals read as the API reads them, with the stored click events, in one statement.
async fn totals_and_events(pool: &PgPool) -> (i64, i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT coalesce(sum(clicks), 0)::bigint FROM link_clicks_now), \
                (SELECT coalesce(sum(clicks), 0)::bigint FROM link_daily_clicks_now), \
                (SELECT coalesce(sum(clicks), 0)::bigint FROM link_referrer_hosts_now), \
                ((SELECT coalesce(sum(n), 0) FROM list_counts WHERE list = 'clicks' AND filter = '') \
                 + (SELECT coalesce(sum(clicks), 0) FROM click_deltas))::bigint, \
                (SELECT count(*) FROM events WHERE event_type = 'click')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn writers_and_folds_at_once_count_every_click_once_and_every_read_is_exact(pool: PgPool) {
    let ids = links(&pool, LINKS).await;
    let writing = Arc::new(AtomicBool::new(true));
    let writer = |first_id: i64| {
        let (pool, ids) = (pool.clone(), ids.clone());
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            for round in 0..BATCHES_PER_WRITER {
                let written =
                    write_classified(&mut conn, first_id + round, &batch_over(&ids, round))
                        .await
                        .unwrap();
                assert_eq!(
                    written,
                    BatchWrite::Written {
                        stored: LINKS as u64,
                        checks: 0
                    }
                );
            }
        })
    };
    // Two folders, one waiting for its turn and one skipping it, small folds so they
    // interleave with the writes.
    let folder = |turn: Turn| {
        let (pool, writing) = (pool.clone(), writing.clone());
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut folded = 0;
            while writing.load(Ordering::SeqCst) {
                if let Some(round) = rollups::fold(&mut conn, 250, turn).await.unwrap() {
                    folded += round.clicks;
                }
            }
            folded
        })
    };
    let reader = {
        let (pool, writing) = (pool.clone(), writing.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while writing.load(Ordering::SeqCst) {
                let (total, days, referrers, list, events) = totals_and_events(&pool).await;
                assert_eq!(
                    (total, days, referrers, list),
                    (events, events, events, events),
                    "a read between a write and its fold"
                );
                reads += 1;
            }
            reads
        })
    };
    let folders = [folder(Turn::Wait), folder(Turn::Try)];
    let (first, second) = tokio::join!(writer(1), writer(1_000_000));
    first.unwrap();
    second.unwrap();
    writing.store(false, Ordering::SeqCst);
    let mut folded_while_writing = 0;
    for folder in folders {
        folded_while_writing += folder.await.unwrap();
    }
    assert!(reader.await.unwrap() > 0);
    assert!(folded_while_writing > 0, "the folds ran during the writes");

    let mut conn = pool.acquire().await.unwrap();
    while rollups::fold(&mut conn, 250, Turn::Wait)
        .await
        .unwrap()
        .is_some_and(|round| round.rows > 0)
    {}
    let expected = 2 * BATCHES_PER_WRITER * LINKS;
    assert_eq!(
        totals_and_events(&pool).await,
        (expected, expected, expected, expected, expected)
    );
    let (pending, per_link_wrong): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM click_deltas), \
                (SELECT count(*) FROM link_clicks WHERE clicks <> $1 OR retained <> $1)",
    )
    .bind(2 * BATCHES_PER_WRITER)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (pending, per_link_wrong),
        (0, 0),
        "all folded, each link whole"
    );
}

#[sqlx::test]
async fn an_updated_click_counts_nothing_and_a_removed_one_leaves_the_retained_clicks(
    pool: PgPool,
) {
    let ids = links(&pool, 2).await;
    let mut conn = pool.acquire().await.unwrap();
    write_classified(&mut conn, 1, &batch_over(&ids, 0))
        .await
        .unwrap();
    write_classified(&mut conn, 2, &batch_over(&ids, 1))
        .await
        .unwrap();
    let first = ids[0];
    let link = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, i64, i64, i64)>(
            "SELECT c.clicks, c.retained, \
                    (SELECT sum(clicks)::bigint FROM link_daily_clicks_now WHERE url_id = $1), \
                    (SELECT sum(clicks)::bigint FROM link_referrer_hosts_now WHERE url_id = $1) \
             FROM link_clicks_now c WHERE c.url_id = $1",
        )
        .bind(first)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(link(pool.clone()).await, (2, 2, 2, 2));

    // Through the parent, so the counting trigger runs; the first link's clicks are
    // still pending (never folded), the second's are folded.
    sqlx::query("UPDATE events SET details = '{}' WHERE event_type = 'click'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        link(pool.clone()).await,
        (2, 2, 2, 2),
        "an update adds nothing"
    );
    sqlx::query("DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE url_id = $1)")
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        link(pool.clone()).await,
        (2, 1, 2, 2),
        "a removed click leaves the retained clicks; every click ever stays counted"
    );
    rollups::fold(&mut conn, 1000, Turn::Wait).await.unwrap();
    assert_eq!(
        link(pool.clone()).await,
        (2, 1, 2, 2),
        "the fold changes no figure"
    );
    let list: i64 = sqlx::query_scalar(
        "SELECT sum(n)::bigint FROM list_counts WHERE list = 'clicks' AND filter = ''",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(list, 3, "the list of clicks holds the three still stored");
}
