//! The `users` table: live users are those with no `deleted_at`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use utoipa::ToSchema;

use crate::domain::{Email, Page, Username, timestamp};

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, username, email, created_at";

/// Inserts a user; a live user with the same email (any case) is a unique violation.
pub async fn create(
    pool: &PgPool,
    username: &Username,
    email: &Email,
) -> Result<User, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO users (username, email) VALUES ($1, $2) RETURNING {COLUMNS}"
    ))
    .bind(username.as_str())
    .bind(email.as_str())
    .fetch_one(pool)
    .await
}

/// A live user by id.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Whether a live user with this id exists.
pub async fn exists(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// One page of live users in id order, and the number of live users.
pub async fn list(pool: &PgPool, page: Page) -> Result<(Vec<User>, i64), sqlx::Error> {
    let users = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2"
    ))
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM users WHERE deleted_at IS NULL")
        .fetch_one(pool)
        .await?;
    Ok((users, total))
}

/// Changes the given fields of a live user; `None` when there is no such user.
pub async fn update(
    pool: &PgPool,
    id: i64,
    username: Option<&Username>,
    email: Option<&Email>,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email) \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(username.map(Username::as_str))
    .bind(email.map(Email::as_str))
    .fetch_optional(pool)
    .await
}

/// Soft-deletes a live user and deactivates their links, in one transaction.
/// Their events are kept. Returns the short codes of the links deactivated, or `None`
/// when there was no such user.
pub async fn soft_delete(pool: &PgPool, id: i64) -> Result<Option<Vec<String>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted =
        sqlx::query("UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if deleted == 0 {
        return Ok(None);
    }
    let links = sqlx::query_scalar(
        "UPDATE urls SET is_active = FALSE, updated_at = now() \
         WHERE user_id = $1 AND is_active AND deleted_at IS NULL RETURNING short_code",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(links))
}
