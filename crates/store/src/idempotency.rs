//! The `idempotency_keys` table: the answers of calls made with an `Idempotency-Key`,
//! kept 24 hours, so that a retry gets the first answer and changes nothing.

use sqlx::PgConnection;
use sqlx::types::Json;

/// A remembered call: what it asked (a digest) and what it was answered.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub request_digest: String,
    pub status: Option<i16>,
    pub answer: Option<serde_json::Value>,
}

/// Claims `key` for a call asking `request_digest`, in the caller's transaction: `true`
/// when it is new. A call that holds the same key uncommitted is waited for; then `false`
/// when it committed.
pub async fn claim(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    request_digest: &str,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query!(
        "INSERT INTO idempotency_keys (scope, key, request_digest) VALUES ($1, $2, $3) \
         ON CONFLICT (scope, key) DO NOTHING",
        scope,
        key,
        request_digest,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// What the call that holds `key` asked and was answered.
pub async fn remembered(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
) -> Result<Option<Remembered>, sqlx::Error> {
    sqlx::query_as!(
        Remembered,
        "SELECT request_digest, status, answer FROM idempotency_keys \
         WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    .fetch_optional(conn)
    .await
}

/// Keeps the answer of the call that claimed `key` (in its transaction).
pub async fn keep_answer(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    status: i16,
    answer: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, answer = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status,
        Json(answer) as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the keys claimed before `cutoff`, at most `limit` of them; how many it deleted.
pub async fn forget_before(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY( \
             SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2))",
        cutoff,
        limit,
    )
    .execute(conn)
    .await?
    .rows_affected())
}
