//! The `urls` table: short links as stored, and the statements that read and change them.
//! Which statements a use case runs, and in which transaction, is the service's choice.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::domain::Page;

/// A live link as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a redirect needs to know about a live (not deleted) link.
#[derive(Debug, Clone)]
pub struct RedirectTarget {
    pub id: i64,
    pub original_url: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The stored fields of a link to insert (its code is given separately).
#[derive(Debug, Clone, Copy)]
pub struct NewLinkRow<'a> {
    pub user_id: Option<i64>,
    pub original_url: &'a str,
    pub title: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether the user is live, locked `FOR SHARE` so that a concurrent delete of the owner
/// waits until the caller's transaction (creating a link for them) ends.
pub async fn lock_live_owner(conn: &mut PgConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
        user_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Inserts a link under `code`; a taken code is a unique violation (`urls_short_code_key`).
pub async fn insert(
    conn: &mut PgConnection,
    new: NewLinkRow<'_>,
    code: &str,
) -> Result<LinkRow, sqlx::Error> {
    sqlx::query_as!(
        LinkRow,
        "INSERT INTO urls (user_id, short_code, original_url, title, expires_at) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at",
        new.user_id,
        code,
        new.original_url,
        new.title,
        new.expires_at,
    )
    .fetch_one(conn)
    .await
}

/// Inserts a link under `code` unless the code is taken (then `None`).
pub async fn insert_if_code_free(
    conn: &mut PgConnection,
    new: NewLinkRow<'_>,
    code: &str,
) -> Result<Option<LinkRow>, sqlx::Error> {
    sqlx::query_as!(
        LinkRow,
        "INSERT INTO urls (user_id, short_code, original_url, title, expires_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (short_code) DO NOTHING \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at",
        new.user_id,
        code,
        new.original_url,
        new.title,
        new.expires_at,
    )
    .fetch_optional(conn)
    .await
}

/// A live link by id.
pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<LinkRow>, sqlx::Error> {
    sqlx::query_as!(
        LinkRow,
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at \
         FROM urls WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .fetch_optional(conn)
    .await
}

/// A live link by id, locked for an update of its fields (`FOR NO KEY UPDATE`: its id
/// is not changed, so inserts of events referencing it are not blocked).
pub async fn find_for_update(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<LinkRow>, sqlx::Error> {
    sqlx::query_as!(
        LinkRow,
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at \
         FROM urls WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Stores the editable fields of `link` (found with [`find_for_update`]).
pub async fn store_fields(conn: &mut PgConnection, link: &LinkRow) -> Result<LinkRow, sqlx::Error> {
    sqlx::query_as!(
        LinkRow,
        "UPDATE urls SET original_url = $2, title = $3, is_active = $4, expires_at = $5, \
                         updated_at = now() \
         WHERE id = $1 \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at",
        link.id,
        link.original_url,
        link.title,
        link.is_active,
        link.expires_at,
    )
    .fetch_one(conn)
    .await
}

/// What a soft delete removed.
#[derive(Debug, Clone)]
pub struct DeletedLink {
    pub user_id: Option<i64>,
    pub short_code: String,
}

/// Soft-deletes a live link; `None` when there is no such link.
pub async fn soft_delete(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<DeletedLink>, sqlx::Error> {
    sqlx::query_as!(
        DeletedLink,
        "UPDATE urls SET deleted_at = now(), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING user_id, short_code",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Deactivates the live, active links of a user; returns their codes.
pub async fn deactivate_owned_by(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE urls SET is_active = FALSE, updated_at = now() \
         WHERE user_id = $1 AND is_active AND deleted_at IS NULL RETURNING short_code",
        user_id
    )
    .fetch_all(conn)
    .await
}

/// The redirect's view of a live link, by code.
pub async fn find_target(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<RedirectTarget>, sqlx::Error> {
    sqlx::query_as!(
        RedirectTarget,
        "SELECT id, original_url, is_active, expires_at FROM urls \
         WHERE short_code = $1 AND deleted_at IS NULL",
        code
    )
    .fetch_optional(conn)
    .await
}

/// Filters of the link list.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkFilter {
    pub user_id: Option<i64>,
    pub is_active: Option<bool>,
}

/// One page of live links in id order, and how many match the filter.
pub async fn list(
    conn: &mut PgConnection,
    filter: LinkFilter,
    page: Page,
) -> Result<(Vec<LinkRow>, i64), sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at FROM urls WHERE deleted_at IS NULL",
    );
    if let Some(user_id) = filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    if let Some(is_active) = filter.is_active {
        query.push(" AND is_active = ").push_bind(is_active);
    }
    let rows = super::page_of(&mut *conn, query, page).await?;
    Ok((rows, super::counts::links(conn, filter).await?))
}
