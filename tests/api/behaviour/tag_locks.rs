//! Tag counters under a bulk create: each statement's trigger takes its counters in key
//! order, but a transaction writing several links takes them in the order of its links,
//! so a bulk call and a concurrent edit of another link's tags, in one counter shard,
//! can deadlock (shown first, without the lock; two bulk calls in one shard cannot, as
//! each link's insert first takes the shard's row of the all-links total);
//! `tags::lock_counters`, which `POST /urls/bulk` runs first, makes the edit wait
//! instead.

use sqlx::{Connection, PgConnection};

use super::*;
use crate::helpers::database_url_of;
use shortener_store::tags::lock_counters;

/// Two connections in one counter shard (`list_count_shard`: the backend's pid mod 16);
/// among 17 connections two always are.
async fn same_shard(pool: &PgPool) -> (PgConnection, PgConnection) {
    let url = database_url_of(pool);
    let mut seen: Vec<(i32, PgConnection)> = Vec::new();
    loop {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        let shard: i32 = sqlx::query_scalar("SELECT list_count_shard()::int")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if let Some(index) = seen.iter().position(|(s, _)| *s == shard) {
            return (seen.swap_remove(index).1, conn);
        }
        seen.push((shard, conn));
    }
}

/// Inserts a link holding `tags` (its trigger adds to their counters).
async fn insert_link(
    conn: &mut PgConnection,
    code: &str,
    tags: &[&str],
) -> Result<(), sqlx::Error> {
    let tags: Vec<String> = tags.iter().map(|tag| (*tag).to_owned()).collect();
    sqlx::query(
        "INSERT INTO urls (short_code, original_url, tags) VALUES ($1, 'https://e.example', $2)",
    )
    .bind(code)
    .bind(tags)
    .execute(conn)
    .await
    .map(drop)
}

/// Waits until backend `pid` waits for a lock.
async fn until_waiting(pool: &PgPool, pid: i32) {
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted)",
        )
        .bind(pid)
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting {
            return;
        }
        tokio::task::yield_now().await;
    }
}

async fn pid_of(conn: &mut PgConnection) -> i32 {
    sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(conn)
        .await
        .unwrap()
}

fn is_deadlock(result: &Result<(), sqlx::Error>) -> bool {
    matches!(result, Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("40P01"))
}

/// The tags edit of a concurrent request: `code`'s tags become `a` and `b` (their
/// counters taken in key order), rolled back; what the statement came to.
fn edit_tags(
    mut conn: PgConnection,
    code: &'static str,
) -> tokio::task::JoinHandle<Result<(), sqlx::Error>> {
    tokio::spawn(async move {
        sqlx::query("BEGIN").execute(&mut conn).await?;
        let edited = sqlx::query("UPDATE urls SET tags = '{a,b}' WHERE short_code = $1")
            .bind(code)
            .execute(&mut conn)
            .await
            .map(drop);
        sqlx::query("ROLLBACK").execute(&mut conn).await?;
        edited
    })
}

#[sqlx::test]
async fn a_bulk_create_and_an_edit_of_tags_in_one_shard_deadlock_unless_the_bulk_call_locks_first(
    pool: PgPool,
) {
    let mut setup = pool.acquire().await.unwrap();
    insert_link(&mut setup, "edited", &[]).await.unwrap();
    drop(setup);

    // Without the lock: the bulk call holds b's counter and asks for a's, which the edit
    // holds while it waits for b's.
    let (mut bulk, mut edit) = same_shard(&pool).await;
    let edit_pid = pid_of(&mut edit).await;
    sqlx::raw_sql("BEGIN").execute(&mut bulk).await.unwrap();
    insert_link(&mut bulk, "bulk-1", &["b"]).await.unwrap();
    let edited = edit_tags(edit, "edited");
    until_waiting(&pool, edit_pid).await;
    let second = insert_link(&mut bulk, "bulk-2", &["a"]).await;
    sqlx::raw_sql("ROLLBACK").execute(&mut bulk).await.unwrap();
    let edited = edited.await.unwrap();
    assert!(
        is_deadlock(&second) || is_deadlock(&edited),
        "{second:?} {edited:?}"
    );

    // With the lock first, as `POST /urls/bulk` takes it: the edit waits for the call.
    let (mut bulk, mut edit) = same_shard(&pool).await;
    let edit_pid = pid_of(&mut edit).await;
    sqlx::raw_sql("BEGIN").execute(&mut bulk).await.unwrap();
    lock_counters(&mut bulk, &[0, 0], &["b".to_owned(), "a".to_owned()])
        .await
        .unwrap();
    insert_link(&mut bulk, "bulk-1", &["b"]).await.unwrap();
    let edited = edit_tags(edit, "edited");
    until_waiting(&pool, edit_pid).await;
    insert_link(&mut bulk, "bulk-2", &["a"]).await.unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut bulk).await.unwrap();
    edited.await.unwrap().unwrap();
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT tag, sum(n)::bigint FROM tag_counts GROUP BY tag ORDER BY tag")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(counts, [("a".to_owned(), 1), ("b".to_owned(), 1)]);
}
