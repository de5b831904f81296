//! The `urls` table: short links as stored, and the statements that read and change them.
//! Which statements a use case runs, and in which transaction, is the service's choice.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use shortener_domain::{
    CodeLookup, Link, LinkFilter, LinkPreview, NewLink, Page, RedirectStatus, RedirectTarget,
    TargetUrl, Targeting, Title,
};

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
    new: &NewLink,
    code: &str,
    password_hash: Option<&str>,
) -> Result<Link, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "INSERT INTO urls (user_id, short_code, original_url, title, expires_at, max_visits, \
                           expired_url, redirect_status, forward_query, tags, preview, \
                           password_hash, rules, variants) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                   forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                            WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination",
        new.user_id,
        code,
        new.original_url.as_str(),
        new.title.as_ref().map(Title::as_str),
        new.expires_at,
        new.behaviour.max_visits,
        new.behaviour.expired_url.as_ref().map(TargetUrl::as_str),
        status_column(new.behaviour.redirect_status),
        new.behaviour.forward_query,
        &new.tags,
        new.behaviour.preview.as_ref().map(preview_column) as _,
        password_hash,
        list_column(&new.behaviour.rules) as _,
        list_column(&new.behaviour.variants) as _,
    )
    .fetch_one(conn)
    .await
}

/// Inserts a link under `code` unless the code is taken (then `None`).
pub async fn insert_if_code_free(
    conn: &mut PgConnection,
    new: &NewLink,
    code: &str,
    password_hash: Option<&str>,
) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "INSERT INTO urls (user_id, short_code, original_url, title, expires_at, max_visits, \
                           expired_url, redirect_status, forward_query, tags, preview, \
                           password_hash, rules, variants) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (short_code) DO NOTHING \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                   forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                            WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination",
        new.user_id,
        code,
        new.original_url.as_str(),
        new.title.as_ref().map(Title::as_str),
        new.expires_at,
        new.behaviour.max_visits,
        new.behaviour.expired_url.as_ref().map(TargetUrl::as_str),
        status_column(new.behaviour.redirect_status),
        new.behaviour.forward_query,
        &new.tags,
        new.behaviour.preview.as_ref().map(preview_column) as _,
        password_hash,
        list_column(&new.behaviour.rules) as _,
        list_column(&new.behaviour.variants) as _,
    )
    .fetch_optional(conn)
    .await
}

/// A preview as the `preview` column holds it.
fn preview_column(preview: &LinkPreview) -> serde_json::Value {
    serde_json::to_value(preview).unwrap_or_default()
}

/// Rules or variants as their column holds them: `NULL` for none.
fn list_column<T: serde::Serialize>(list: &[T]) -> Option<serde_json::Value> {
    (!list.is_empty()).then(|| serde_json::to_value(list).unwrap_or_default())
}

/// A redirect status as the `redirect_status` column holds it.
fn status_column(status: RedirectStatus) -> i16 {
    i16::try_from(status.code()).unwrap_or(302)
}

/// A live link by id.
pub async fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                         WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination \
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
) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                         WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination \
         FROM urls WHERE id = $1 AND deleted_at IS NULL FOR NO KEY UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Stores the editable fields of `link` (found with [`find_for_update`]), and with
/// `password` `Some`, its new password hash (`Some(None)`: none).
pub async fn store_fields(
    conn: &mut PgConnection,
    link: &Link,
    password: Option<Option<&str>>,
) -> Result<Link, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "UPDATE urls SET original_url = $2, title = $3, is_active = $4, expires_at = $5, \
                         max_visits = $6, expired_url = $7, redirect_status = $8, \
                         forward_query = $9, tags = $10, preview = $11, \
                         password_hash = CASE WHEN $12 THEN $13 ELSE password_hash END, \
                         rules = $14, variants = $15, \
                         updated_at = now() \
         WHERE id = $1 \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                   forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                            WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination",
        link.id,
        link.original_url,
        link.title,
        link.is_active,
        link.expires_at,
        link.max_visits,
        link.expired_url,
        link.redirect_status,
        link.forward_query,
        &link.tags,
        link.preview.as_ref(),
        password.is_some(),
        password.flatten(),
        link.rules.as_ref(),
        link.variants.as_ref(),
    )
    .fetch_one(conn)
    .await
}

/// What a soft delete removed.
#[derive(Debug, Clone)]
pub struct DeletedLink {
    pub user_id: Option<i64>,
    pub short_code: String,
    /// The version the deletion gave it.
    pub version: i64,
}

/// A link whose version a change moved: its code and new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub short_code: String,
    pub version: i64,
}

/// Soft-deletes a live link; `None` when there is no such link.
pub async fn soft_delete(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<DeletedLink>, sqlx::Error> {
    sqlx::query_as!(
        DeletedLink,
        "UPDATE urls SET deleted_at = now(), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING user_id, short_code, version",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Deactivates the live, active links of a user; returns their codes and new versions.
pub async fn deactivate_owned_by(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Vec<Changed>, sqlx::Error> {
    sqlx::query_as!(
        Changed,
        "UPDATE urls SET is_active = FALSE, updated_at = now() \
         WHERE user_id = $1 AND is_active AND deleted_at IS NULL \
         RETURNING short_code, version",
        user_id
    )
    .fetch_all(conn)
    .await
}

/// What a code leads to, from the `redirect_targets` view: the columns the redirect cache
/// carries, which the version trigger watches, and the version.
pub async fn find_target(conn: &mut PgConnection, code: &str) -> Result<CodeLookup, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT url_id AS "url_id!", original_url AS "original_url!",
                  is_active AS "is_active!", expires_at, version AS "version!",
                  deleted AS "deleted!", max_visits, visits_used_up AS "visits_used_up!",
                  expired_url, redirect_status AS "redirect_status!",
                  forward_query AS "forward_query!", preview, protected AS "protected!",
                  rules, variants, destination_down AS "destination_down!"
           FROM redirect_targets WHERE short_code = $1"#,
        code
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => CodeLookup::Unknown,
        Some(row) if row.deleted => CodeLookup::Deleted {
            version: row.version,
        },
        Some(row) => CodeLookup::Live(RedirectTarget {
            url_id: row.url_id,
            original_url: row.original_url,
            is_active: row.is_active,
            expires_at: row.expires_at,
            version: row.version,
            max_visits: row.max_visits,
            visits_used_up: row.visits_used_up,
            expired_url: row.expired_url,
            // The column's check admits the four codes only.
            redirect_status: RedirectStatus::from_code(row.redirect_status.into())
                .unwrap_or_default(),
            forward_query: row.forward_query,
            // The service stores only what `LinkPreview` reads back.
            preview: row
                .preview
                .and_then(|json| serde_json::from_value(json).ok()),
            protected: row.protected,
            // The service stores only what `parse_rules` and `parse_variants` give.
            targeting: Targeting::of(
                row.rules
                    .and_then(|json| serde_json::from_value(json).ok())
                    .unwrap_or_default(),
                row.variants
                    .and_then(|json| serde_json::from_value(json).ok())
                    .unwrap_or_default(),
            ),
            destination_down: row.destination_down,
        }),
    })
}

/// The argon2id hash of a live link's password; `None` when it has none.
pub async fn password_hash(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT password_hash FROM urls WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// One page of live links in id order, and how many match the filter.
pub async fn list(
    conn: &mut PgConnection,
    filter: LinkFilter,
    page: Page,
) -> Result<(Vec<Link>, i64), sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT id, user_id, short_code, original_url, title, is_active, expires_at, \
                created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                forward_query, tags, preview, password_hash IS NOT NULL AS protected, \
                rules, variants, coalesce((SELECT v.used FROM link_visits v \
                                         WHERE v.url_id = urls.id), 0) AS visits_used, \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination \
         FROM urls WHERE deleted_at IS NULL",
    );
    if let Some(user_id) = filter.user_id {
        query.push(" AND user_id = ").push_bind(user_id);
    }
    if let Some(is_active) = filter.is_active {
        query.push(" AND is_active = ").push_bind(is_active);
    }
    if !filter.tags.is_empty() {
        query.push(" AND tags @> ").push_bind(filter.tags.clone());
    }
    let rows = crate::list::page_of(&mut *conn, query, page).await?;
    Ok((rows, count(conn, &filter).await?))
}

/// How many live links match the filter. Without tags, and by one tag alone, from the
/// counters the triggers keep (`list_counts`, migration `20261202000001`; `tag_counts`,
/// migration `20261207000012`): at most 16 shards summed a key. By several tags, or a tag
/// and a state, by counting the matching links through the tags' index.
async fn count(conn: &mut PgConnection, filter: &LinkFilter) -> Result<i64, sqlx::Error> {
    match (filter.tags.as_slice(), filter.is_active) {
        ([], _) => {
            sqlx::query_scalar!(
                r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
                   WHERE list = 'urls' AND filter = url_count_key($1, $2)"#,
                filter.user_id,
                filter.is_active,
            )
            .fetch_one(conn)
            .await
        }
        ([tag], None) => crate::tags::links_holding(conn, filter.user_id, tag).await,
        (tags, is_active) => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "total!" FROM urls
                   WHERE deleted_at IS NULL AND tags @> $1
                     AND ($2::bigint IS NULL OR user_id = $2)
                     AND ($3::bool IS NULL OR is_active = $3)"#,
                tags,
                filter.user_id,
                is_active,
            )
            .fetch_one(conn)
            .await
        }
    }
}

/// Locks a live link: inactive, with the operator's reason; `None` when there is none.
pub async fn lock(
    conn: &mut PgConnection,
    id: i64,
    reason: &str,
) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "UPDATE urls SET is_active = false, locked_reason = $2, locked_at = now(), \
                         updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                   forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                            WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination",
        id,
        reason,
    )
    .fetch_optional(conn)
    .await
}

/// Lifts a live link's lock (it stays inactive until someone turns it on); `None` when
/// there is no such link.
pub async fn unlock(conn: &mut PgConnection, id: i64) -> Result<Option<Link>, sqlx::Error> {
    sqlx::query_as!(
        Link,
        "UPDATE urls SET locked_reason = NULL, locked_at = NULL, updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING id, user_id, short_code, original_url, title, is_active, expires_at, \
                   created_at, updated_at, version, max_visits, expired_url, redirect_status, \
                   forward_query, tags, preview, password_hash IS NOT NULL AS \"protected!\", \
                rules, variants, \
                coalesce((SELECT v.used FROM link_visits v \
                                            WHERE v.url_id = urls.id), 0) AS \"visits_used!\", \
                (SELECT destination_health_json(h) FROM link_health h \
                                  WHERE h.url_id = urls.id) AS destination",
        id,
    )
    .fetch_optional(conn)
    .await
}

/// Why a link is locked; `None` when it is not (or there is no such link).
pub async fn lock_reason(conn: &mut PgConnection, id: i64) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT locked_reason FROM urls WHERE id = $1", id)
            .fetch_optional(conn)
            .await?
            .flatten(),
    )
}

/// The id of the live, active link with this short code: one that redirects, as far as
/// anyone without a key can tell.
pub async fn id_of_active_code(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM urls WHERE short_code = $1 AND deleted_at IS NULL AND is_active",
        code
    )
    .fetch_optional(conn)
    .await
}
