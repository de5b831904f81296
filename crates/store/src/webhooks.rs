//! The `webhooks` table: owners' subscriptions to their links' events. A subscription
//! is live until it is deleted; the secret is read only to sign and to show it once.

use sqlx::PgConnection;

use shortener_domain::{Page, Webhook};

/// A subscription to store.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    pub user_id: Option<i64>,
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
    /// The `whsec_` spelling.
    pub secret: &'a str,
}

/// A subscription's fields as an update leaves them.
#[derive(Debug, Clone)]
pub struct WebhookFields<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
    pub enabled: bool,
}

/// Stores a subscription.
pub async fn insert(conn: &mut PgConnection, new: &NewWebhook<'_>) -> Result<Webhook, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "INSERT INTO webhooks (user_id, url, events, description, secret) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, user_id, url, events, description, enabled, disabled_reason, \
                   consecutive_failures, created_at, updated_at",
        new.user_id,
        new.url,
        new.events,
        new.description,
        new.secret,
    )
    .fetch_one(conn)
    .await
}

/// A live subscription.
pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "SELECT id, user_id, url, events, description, enabled, disabled_reason, \
                consecutive_failures, created_at, updated_at \
         FROM webhooks WHERE id = $1 AND deleted_at IS NULL",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// A live subscription, locked until the transaction ends (its update reads, then writes).
pub async fn find_for_update(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "SELECT id, user_id, url, events, description, enabled, disabled_reason, \
                consecutive_failures, created_at, updated_at \
         FROM webhooks WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// One page of live subscriptions in id order (one owner's, or every one), and how many
/// there are (an owner holds a handful: counted).
pub async fn list(
    conn: &mut PgConnection,
    user_id: Option<i64>,
    page: Page,
) -> Result<(Vec<Webhook>, i64), sqlx::Error> {
    let items = sqlx::query_as!(
        Webhook,
        "SELECT id, user_id, url, events, description, enabled, disabled_reason, \
                consecutive_failures, created_at, updated_at \
         FROM webhooks WHERE deleted_at IS NULL AND ($4::bigint IS NULL OR user_id = $4) \
           AND id > $3 ORDER BY id LIMIT $1 OFFSET $2",
        page.limit(),
        page.offset(),
        page.after().unwrap_or(i64::MIN),
        user_id,
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM webhooks
           WHERE deleted_at IS NULL AND ($1::bigint IS NULL OR user_id = $1)"#,
        user_id,
    )
    .fetch_one(conn)
    .await?;
    Ok((items, total))
}

/// Sets a live subscription's fields. Turning it on clears why it was turned off and its
/// count of failed deliveries.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    fields: &WebhookFields<'_>,
) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "UPDATE webhooks SET url = $2, events = $3, description = $4, enabled = $5, \
                disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
                consecutive_failures = CASE WHEN $5 AND NOT enabled THEN 0 \
                                            ELSE consecutive_failures END, \
                updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING id, user_id, url, events, description, enabled, disabled_reason, \
                   consecutive_failures, created_at, updated_at",
        id,
        fields.url,
        fields.events,
        fields.description,
        fields.enabled,
    )
    .fetch_optional(conn)
    .await
}

/// Replaces a live subscription's secret.
pub async fn set_secret(
    conn: &mut PgConnection,
    id: i64,
    secret: &str,
) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        "UPDATE webhooks SET secret = $2, updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING id, user_id, url, events, description, enabled, disabled_reason, \
                   consecutive_failures, created_at, updated_at",
        id,
        secret,
    )
    .fetch_optional(conn)
    .await
}

/// Deletes a live subscription; its pending deliveries are never sent. `false` when
/// there is none.
pub async fn soft_delete(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE webhooks SET deleted_at = now(), enabled = false WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes every live subscription of a user (who is being deleted); returns their ids.
pub async fn delete_owned_by(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE webhooks SET deleted_at = now(), enabled = false \
         WHERE user_id = $1 AND deleted_at IS NULL RETURNING id",
        user_id
    )
    .fetch_all(conn)
    .await
}
