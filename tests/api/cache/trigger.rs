//! Every column the redirect cache carries moves the link's version, and every version
//! move is announced. Both sides are read from the catalog (`pg_depend`): the columns of
//! `urls` the `redirect_targets` view reads (what `RedirectTarget` holds, checked against
//! the view at compile time), the columns the `urls_bump_version` trigger's `WHEN` clause
//! names, and the `urls_announce_update` trigger's. A column added to the view without the
//! version trigger would let an edit of it keep its version: no replica would ever tell
//! the cached copy is stale.

use std::collections::BTreeSet;

use sqlx::{PgConnection, PgPool};

/// The columns of `urls` that the `redirect_targets` view reads.
async fn carried_columns(conn: &mut PgConnection) -> BTreeSet<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT a.attname::text FROM pg_depend d \
         JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid \
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
         WHERE r.ev_class = 'redirect_targets'::regclass \
           AND d.refobjid = 'urls'::regclass AND d.refobjsubid > 0",
    )
    .fetch_all(conn)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// The columns of `urls` that the named trigger's `WHEN` clause names.
async fn watched_columns(conn: &mut PgConnection, trigger: &str) -> BTreeSet<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT a.attname::text FROM pg_trigger t \
         JOIN pg_depend d ON d.classid = 'pg_trigger'::regclass AND d.objid = t.oid \
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
         WHERE t.tgrelid = 'urls'::regclass AND t.tgname = $1 AND d.refobjsubid > 0",
    )
    .bind(trigger)
    .fetch_all(conn)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// The carried columns (but the version itself) that do not move the version.
async fn unwatched_columns(conn: &mut PgConnection) -> BTreeSet<String> {
    let watched = watched_columns(conn, "urls_bump_version").await;
    let mut carried = carried_columns(conn).await;
    assert!(
        carried.contains("original_url")
            && carried.contains("deleted_at")
            && carried.contains("version"),
        "the view's columns were not found in the catalog: {carried:?}"
    );
    carried.remove("version");
    carried.difference(&watched).cloned().collect()
}

#[sqlx::test]
async fn every_column_the_redirect_cache_carries_moves_the_version_and_every_move_is_announced(
    pool: PgPool,
) {
    let mut conn = pool.acquire().await.unwrap();
    let unwatched = unwatched_columns(&mut conn).await;
    assert!(
        unwatched.is_empty(),
        "the redirect cache carries {unwatched:?}, which the urls_bump_version trigger \
         does not watch: add them to its WHEN clause in a migration"
    );
    assert_eq!(
        watched_columns(&mut conn, "urls_announce_update").await,
        BTreeSet::from(["version".to_owned()]),
        "every version move, and only that, is announced"
    );
}

/// The check sees a column the trigger leaves out (so the test above can fail).
#[sqlx::test]
async fn a_trigger_that_leaves_out_a_carried_column_is_caught(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(
        "DROP TRIGGER urls_bump_version ON urls; \
         CREATE TRIGGER urls_bump_version BEFORE UPDATE ON urls FOR EACH ROW \
         WHEN (OLD.id IS DISTINCT FROM NEW.id \
            OR OLD.original_url IS DISTINCT FROM NEW.original_url \
            OR OLD.is_active IS DISTINCT FROM NEW.is_active \
            OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at \
            OR OLD.short_code IS DISTINCT FROM NEW.short_code \
            OR OLD.max_visits IS DISTINCT FROM NEW.max_visits \
            OR OLD.expired_url IS DISTINCT FROM NEW.expired_url \
            OR OLD.redirect_status IS DISTINCT FROM NEW.redirect_status \
            OR OLD.forward_query IS DISTINCT FROM NEW.forward_query \
            OR OLD.preview IS DISTINCT FROM NEW.preview \
            OR OLD.password_hash IS DISTINCT FROM NEW.password_hash \
            OR OLD.rules IS DISTINCT FROM NEW.rules \
            OR OLD.variants IS DISTINCT FROM NEW.variants \
            OR OLD.destination_down IS DISTINCT FROM NEW.destination_down) \
         EXECUTE FUNCTION bump_link_version();",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        unwatched_columns(&mut conn).await,
        BTreeSet::from(["expires_at".to_owned()])
    );
}
