//! The `urls` table: short links, their lifecycle, and the audit events each change writes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;

use super::events::{self, NewEvent};
use crate::domain::{Page, ShortCode, ShortCodeGenerator, TargetUrl, timestamp};

/// A short link as the API shows it.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Link {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-12-31T23:59:59")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, example = "2026-01-31T23:59:59")]
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, user_id, short_code, original_url, title, is_active, expires_at, created_at, updated_at";

/// What a redirect needs to know about a live (not deleted) link.
#[derive(Debug, Clone, FromRow)]
pub struct RedirectTarget {
    pub id: i64,
    pub original_url: String,
    pub is_active: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where a new link's code comes from.
#[derive(Debug, Clone)]
pub enum CodeChoice {
    /// The client's code; taken means 409.
    Custom(ShortCode),
    /// A random code, retried on collision.
    Generated(ShortCodeGenerator),
}

/// A link to create.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub user_id: Option<i64>,
    pub original_url: TargetUrl,
    pub title: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub code: CodeChoice,
}

/// The result of [`create`].
#[derive(Debug)]
pub enum Creation {
    Created(Link),
    UnknownUser,
}

/// How many random codes to try before giving up (collisions are rare at 7 base62 chars).
const GENERATED_CODE_ATTEMPTS: usize = 8;

/// Creates a link and its `created` event in one transaction.
pub async fn create(pool: &PgPool, new: &NewLink) -> Result<Creation, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if let Some(user_id) = new.user_id {
        // FOR SHARE: a concurrent delete of the owner waits for this link to exist.
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if owner.is_none() {
            return Ok(Creation::UnknownUser);
        }
    }
    let insert_sql = |on_conflict: &str| {
        format!(
            "INSERT INTO urls (user_id, short_code, original_url, title, expires_at) \
             VALUES ($1, $2, $3, $4, $5) {on_conflict} RETURNING {COLUMNS}"
        )
    };
    let (strict_sql, lenient_sql) = (
        insert_sql(""),
        insert_sql("ON CONFLICT (short_code) DO NOTHING"),
    );
    let link = match &new.code {
        CodeChoice::Custom(code) => {
            insert_query(&strict_sql, new, code)
                .fetch_one(&mut *tx)
                .await?
        }
        CodeChoice::Generated(generator) => {
            let mut created = None;
            for _ in 0..GENERATED_CODE_ATTEMPTS {
                let code = generator.generate();
                created = insert_query(&lenient_sql, new, &code)
                    .fetch_optional(&mut *tx)
                    .await?;
                if created.is_some() {
                    break;
                }
            }
            created.ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "no free short code after {GENERATED_CODE_ATTEMPTS} attempts"
                ))
            })?
        }
    };
    events::insert(
        &mut *tx,
        &NewEvent {
            url_id: link.id,
            user_id: link.user_id,
            event_type: "created".to_owned(),
            details: json!({"short_code": link.short_code, "original_url": link.original_url}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Creation::Created(link))
}

fn insert_query<'q>(
    sql: &'q str,
    new: &'q NewLink,
    code: &ShortCode,
) -> sqlx::query::QueryAs<'q, Postgres, Link, sqlx::postgres::PgArguments> {
    sqlx::query_as(sql)
        .bind(new.user_id)
        .bind(code.as_str().to_owned())
        .bind(new.original_url.as_str())
        .bind(new.title.as_deref())
        .bind(new.expires_at)
}

/// A live link by id.
pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM urls WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The redirect's view of a live link, by code.
pub async fn find_target(
    connection: &mut PgConnection,
    code: &str,
) -> Result<Option<RedirectTarget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, original_url, is_active, expires_at FROM urls \
         WHERE short_code = $1 AND deleted_at IS NULL",
    )
    .bind(code)
    .fetch_optional(connection)
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
    pool: &PgPool,
    filter: LinkFilter,
    page: Page,
) -> Result<(Vec<Link>, i64), sqlx::Error> {
    let filtered = |select: &str| {
        let mut query = QueryBuilder::<Postgres>::new(select);
        query.push(" FROM urls WHERE deleted_at IS NULL");
        if let Some(user_id) = filter.user_id {
            query.push(" AND user_id = ").push_bind(user_id);
        }
        if let Some(is_active) = filter.is_active {
            query.push(" AND is_active = ").push_bind(is_active);
        }
        query
    };
    super::page_of(pool, COLUMNS, filtered, page).await
}

/// A partial update: `None` leaves a field alone; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct LinkChanges {
    pub original_url: Option<TargetUrl>,
    pub title: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// Applies the changes that differ from the stored link, writing one `updated`
/// event per changed field, in one transaction. `None` when there is no such link.
pub async fn update(
    pool: &PgPool,
    id: i64,
    changes: &LinkChanges,
) -> Result<Option<Link>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let current: Option<Link> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM urls WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut link) = current else {
        return Ok(None);
    };
    let changed = apply_changes(&mut link, changes);
    if changed.is_empty() {
        return Ok(Some(link));
    }
    let updated: Link = sqlx::query_as(&format!(
        "UPDATE urls SET original_url = $2, title = $3, is_active = $4, expires_at = $5, \
         updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(&link.original_url)
    .bind(&link.title)
    .bind(link.is_active)
    .bind(link.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    for (field, new_value) in changed {
        let event = NewEvent {
            url_id: id,
            user_id: updated.user_id,
            event_type: "updated".to_owned(),
            details: json!({"field": field, "new_value": new_value}),
        };
        events::insert(&mut *tx, &event).await?;
    }
    tx.commit().await?;
    Ok(Some(updated))
}

/// Writes the requested values into `link`, returning each field that really changed
/// with its new value as the API shows it.
fn apply_changes(link: &mut Link, changes: &LinkChanges) -> Vec<(&'static str, Value)> {
    let mut changed = Vec::new();
    if let Some(url) = &changes.original_url
        && url.as_str() != link.original_url
    {
        link.original_url = url.as_str().to_owned();
        changed.push(("original_url", json!(link.original_url)));
    }
    if let Some(title) = &changes.title
        && *title != link.title
    {
        link.title.clone_from(title);
        changed.push(("title", json!(link.title)));
    }
    if let Some(is_active) = changes.is_active
        && is_active != link.is_active
    {
        link.is_active = is_active;
        changed.push(("is_active", json!(is_active)));
    }
    if let Some(expires_at) = changes.expires_at
        && expires_at != link.expires_at
    {
        link.expires_at = expires_at;
        changed.push((
            "expires_at",
            json!(expires_at.as_ref().map(timestamp::format)),
        ));
    }
    changed
}

/// Soft-deletes a live link and writes its `deleted` event. Returns the link's code, or
/// `None` when there is no such link.
pub async fn soft_delete(pool: &PgPool, id: i64) -> Result<Option<String>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted: Option<(Option<i64>, String)> = sqlx::query_as(
        "UPDATE urls SET deleted_at = now(), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING user_id, short_code",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, short_code)) = deleted else {
        return Ok(None);
    };
    let event = NewEvent {
        url_id: id,
        user_id,
        event_type: "deleted".to_owned(),
        details: json!({"reason": "user_requested"}),
    };
    events::insert(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Some(short_code))
}
