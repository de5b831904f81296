//! The `users` table: live users are those with no `deleted_at`; an erased user is a
//! deleted one whose name and address are placeholders.

use sqlx::PgConnection;

use shortener_domain::{Email, Page, User, Username};

/// Inserts a user; a live user with the same email (any case) is a unique violation
/// (`users_email_live_key`).
pub async fn insert(
    conn: &mut PgConnection,
    username: &Username,
    email: &Email,
) -> Result<User, sqlx::Error> {
    sqlx::query_as!(
        User,
        "INSERT INTO users (username, email) VALUES ($1, $2) \
         RETURNING id, username, email, created_at",
        username.as_str(),
        email.as_str(),
    )
    .fetch_one(conn)
    .await
}

/// A live user by id.
pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "SELECT id, username, email, created_at FROM users WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .fetch_optional(conn)
    .await
}

/// One page of live users in id order, and the number of live users.
pub async fn list(conn: &mut PgConnection, page: Page) -> Result<(Vec<User>, i64), sqlx::Error> {
    let users = sqlx::query_as!(
        User,
        "SELECT id, username, email, created_at FROM users \
         WHERE deleted_at IS NULL AND id > $3 ORDER BY id LIMIT $1 OFFSET $2",
        page.limit(),
        page.offset(),
        page.after().unwrap_or(i64::MIN),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((users, count(conn).await?))
}

/// Changes the given fields of a live user; `None` when there is no such user.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    username: Option<&Username>,
    email: Option<&Email>,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email) \
         WHERE id = $1 AND deleted_at IS NULL RETURNING id, username, email, created_at",
        id,
        username.map(Username::as_str),
        email.map(Email::as_str),
    )
    .fetch_optional(conn)
    .await
}

/// Soft-deletes a live user; `false` when there was no such user.
pub async fn soft_delete(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted > 0)
}

/// Erases a user, live or soft-deleted: the name and address become placeholders that
/// identify no one (`erased-user-<id>`, `erased-<id>@invalid`; `.invalid` is a reserved
/// top-level domain, RFC 2606) and the row is soft-deleted if it was not. `false` when
/// there is no such user. The old values are overwritten in place, not kept aside.
pub async fn erase(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let erased = sqlx::query!(
        "UPDATE users SET username = 'erased-user-' || id, email = 'erased-' || id || '@invalid', \
                          deleted_at = coalesce(deleted_at, now()) \
         WHERE id = $1",
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(erased > 0)
}

/// How many users are live, from the `list_counts` counters.
async fn count(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
           WHERE list = 'users' AND filter = ''"#,
    )
    .fetch_one(conn)
    .await
}
