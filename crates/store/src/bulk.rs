//! Multi-row inserts for CSV imports: one `UNNEST` statement per batch, existing rows left alone.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

/// Columns of a batch of users, one vector per column, row-aligned.
#[derive(Debug, Default)]
pub struct UserColumns {
    pub ids: Vec<Option<i64>>,
    pub usernames: Vec<String>,
    pub emails: Vec<String>,
    pub created_at: Vec<Option<DateTime<Utc>>>,
}

/// Of `ids`, those present in `table` (deleted rows included).
pub async fn existing_ids(
    conn: &mut PgConnection,
    table: super::sequences::Table,
    ids: &[i64],
) -> Result<HashSet<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!("SELECT id FROM {} WHERE id = ANY($1)", table.name());
    let found: Vec<i64> = sqlx::query_scalar(&sql).bind(ids).fetch_all(conn).await?;
    Ok(found.into_iter().collect())
}

/// Of `lowercase_emails`, those held by live users.
pub async fn live_emails(
    conn: &mut PgConnection,
    lowercase_emails: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    if lowercase_emails.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT lower(email) FROM users WHERE deleted_at IS NULL AND lower(email) = ANY($1)",
    )
    .bind(lowercase_emails)
    .fetch_all(conn)
    .await?;
    Ok(found.into_iter().collect())
}

/// Inserts users (ids generated where absent); rows that conflict are left out.
/// Returns the lower-cased emails of the rows inserted.
pub async fn insert_users(
    conn: &mut PgConnection,
    rows: &UserColumns,
) -> Result<HashSet<String>, sqlx::Error> {
    if rows.emails.is_empty() {
        return Ok(HashSet::new());
    }
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO users (id, username, email, created_at) \
         SELECT COALESCE(r.id, nextval((SELECT pg_get_serial_sequence('users', 'id'))::regclass)), \
                r.username, r.email, COALESCE(r.created_at, now()) \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) \
              WITH ORDINALITY AS r(id, username, email, created_at, ord) \
         ORDER BY r.ord \
         ON CONFLICT DO NOTHING RETURNING lower(email)",
    )
    .bind(&rows.ids)
    .bind(&rows.usernames)
    .bind(&rows.emails)
    .bind(&rows.created_at)
    .fetch_all(conn)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// Columns of a batch of links with explicit ids.
#[derive(Debug, Default)]
pub struct LinkColumns {
    pub ids: Vec<i64>,
    pub user_ids: Vec<Option<i64>>,
    pub short_codes: Vec<String>,
    pub original_urls: Vec<String>,
    pub titles: Vec<Option<String>>,
    pub is_active: Vec<bool>,
    pub created_at: Vec<Option<DateTime<Utc>>>,
    pub updated_at: Vec<Option<DateTime<Utc>>>,
}

/// Inserts links whose owner (if any) exists; rows that conflict on id or code are left
/// out. Returns the ids inserted.
pub async fn insert_links(
    conn: &mut PgConnection,
    rows: &LinkColumns,
) -> Result<HashSet<i64>, sqlx::Error> {
    if rows.ids.is_empty() {
        return Ok(HashSet::new());
    }
    let inserted: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at) \
         SELECT r.id, r.user_id, r.short_code, r.original_url, r.title, r.is_active, \
                COALESCE(r.created_at, now()), COALESCE(r.updated_at, r.created_at, now()) \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bool[], \
                     $7::timestamptz[], $8::timestamptz[]) \
              AS r(id, user_id, short_code, original_url, title, is_active, created_at, updated_at) \
         WHERE r.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id) \
         ORDER BY r.id \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&rows.ids)
    .bind(&rows.user_ids)
    .bind(&rows.short_codes)
    .bind(&rows.original_urls)
    .bind(&rows.titles)
    .bind(&rows.is_active)
    .bind(&rows.created_at)
    .bind(&rows.updated_at)
    .fetch_all(conn)
    .await?;
    Ok(inserted.into_iter().collect())
}

/// Columns of a batch of events with explicit ids.
#[derive(Debug, Default)]
pub struct EventColumns {
    pub ids: Vec<i64>,
    pub url_ids: Vec<i64>,
    pub user_ids: Vec<Option<i64>>,
    pub event_types: Vec<String>,
    pub timestamps: Vec<Option<DateTime<Utc>>>,
    pub details: Vec<Value>,
}

/// Inserts events whose link (and user, if any) exist; rows whose id exists, and repeats
/// of an id within the batch, are left out. Returns the ids inserted.
///
/// `events` is partitioned, so no unique index can hold its ids (it would have to include
/// the partition keys). Inserts with explicit ids are serialised instead by a
/// transaction-scoped advisory lock, which makes the check of ids already present exact:
/// run it in the transaction of the batch.
pub async fn insert_events(
    conn: &mut PgConnection,
    rows: &EventColumns,
) -> Result<HashSet<i64>, sqlx::Error> {
    if rows.ids.is_empty() {
        return Ok(HashSet::new());
    }
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shortener.events_explicit_ids'))")
        .execute(&mut *conn)
        .await?;
    let inserted: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO events (id, url_id, user_id, event_type, timestamp, details) \
         SELECT DISTINCT ON (r.id) \
                r.id, r.url_id, r.user_id, r.event_type, COALESCE(r.timestamp, now()), r.details \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[]) \
              WITH ORDINALITY AS r(id, url_id, user_id, event_type, timestamp, details, position) \
         WHERE EXISTS (SELECT 1 FROM urls l WHERE l.id = r.url_id \
                         AND (r.event_type <> 'click' OR l.user_id IS NOT DISTINCT FROM r.user_id)) \
           AND (r.user_id IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)) \
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = r.id) \
         ORDER BY r.id, r.position \
         RETURNING id",
    )
    .bind(&rows.ids)
    .bind(&rows.url_ids)
    .bind(&rows.user_ids)
    .bind(&rows.event_types)
    .bind(&rows.timestamps)
    .bind(&rows.details)
    .fetch_all(conn)
    .await?;
    Ok(inserted.into_iter().collect())
}
