//! The `api_keys` table: keys made over the API, kept as SHA-256 digests; a key is live
//! until it is revoked, and opens nothing past its expiry.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use shortener_domain::{ApiKeyRecord, Page, Scope, StoredKey};

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    pub name: &'a str,
    pub scope: Scope,
    pub user_id: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub digest: [u8; 32],
}

/// The name of the index that keeps live names unique.
pub const LIVE_NAME_KEY: &str = "api_keys_live_name_key";

/// A scope as the table spells it; a value the CHECK constraint would refuse is a bug.
fn scope_of(name: &str) -> Result<Scope, sqlx::Error> {
    Scope::from_name(name).ok_or_else(|| sqlx::Error::Decode(format!("scope {name:?}").into()))
}

/// A listed key as the table holds it.
struct KeyRow {
    id: i64,
    name: String,
    scope: String,
    user_id: Option<i64>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for ApiKeyRecord {
    type Error = sqlx::Error;

    fn try_from(row: KeyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.id,
            name: row.name,
            scope: scope_of(&row.scope)?,
            user_id: row.user_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
        })
    }
}

/// Stores a key; a live key of the same name is a unique violation ([`LIVE_NAME_KEY`]).
pub async fn insert(
    conn: &mut PgConnection,
    key: &NewKey<'_>,
) -> Result<ApiKeyRecord, sqlx::Error> {
    sqlx::query_as!(
        KeyRow,
        "INSERT INTO api_keys (name, scope, user_id, expires_at, digest) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, name, scope, user_id, created_at, expires_at, last_used_at",
        key.name,
        key.scope.as_str(),
        key.user_id,
        key.expires_at,
        &key.digest[..],
    )
    .fetch_one(conn)
    .await?
    .try_into()
}

/// One page of live keys in id order, and how many there are (a short table: counted).
pub async fn list(
    conn: &mut PgConnection,
    page: Page,
) -> Result<(Vec<ApiKeyRecord>, i64), sqlx::Error> {
    let keys = sqlx::query_as!(
        KeyRow,
        "SELECT id, name, scope, user_id, created_at, expires_at, last_used_at FROM api_keys \
         WHERE revoked_at IS NULL AND id > $3 ORDER BY id LIMIT $1 OFFSET $2",
        page.limit(),
        page.offset(),
        page.after().unwrap_or(i64::MIN),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(ApiKeyRecord::try_from)
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let total =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM api_keys WHERE revoked_at IS NULL"#)
            .fetch_one(conn)
            .await?;
    Ok((keys, total))
}

/// Revokes a live key; `false` when there is none with this id.
pub async fn revoke(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Revokes every live key of a user (who is being deleted).
pub async fn revoke_owned_by(conn: &mut PgConnection, user_id: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Every key that may still open something: not revoked, not expired.
pub async fn live(conn: &mut PgConnection) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, name, scope, user_id, expires_at, digest FROM api_keys \
         WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(StoredKey {
                id: row.id,
                name: row.name,
                scope: scope_of(&row.scope)?,
                owner: row.user_id,
                expires_at: row.expires_at,
                digest: row
                    .digest
                    .try_into()
                    .map_err(|_| sqlx::Error::Decode("a digest of other than 32 bytes".into()))?,
            })
        })
        .collect()
}

/// Notes that these keys were used by `at` (a later time is never moved back).
pub async fn mark_used(
    conn: &mut PgConnection,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api_keys SET last_used_at = $2 WHERE id = ANY($1) \
         AND (last_used_at IS NULL OR last_used_at < $2)",
        ids,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}
