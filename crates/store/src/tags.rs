//! The `tag_counts` table: how many live links of each owner hold each tag, kept by the
//! triggers of migration `20261207000012` (16 shards a key, summed on read).

use sqlx::PgConnection;

/// A tag and how many live links hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub links: i64,
}

/// The tags of one owner's live links (of every link's, `None`), most held first (then
/// by name), at most `limit`.
pub async fn counts(
    conn: &mut PgConnection,
    user_id: Option<i64>,
    limit: i64,
) -> Result<Vec<TagCount>, sqlx::Error> {
    sqlx::query_as!(
        TagCount,
        r#"SELECT tag AS "tag!", sum(n)::bigint AS "links!" FROM tag_counts
           WHERE $1::bigint IS NULL OR user_id = $1
           GROUP BY tag HAVING sum(n) > 0
           ORDER BY 2 DESC, 1 LIMIT $2"#,
        user_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// How many live links of one owner (of every owner, `None`) hold `tag`.
pub async fn links_holding(
    conn: &mut PgConnection,
    user_id: Option<i64>,
    tag: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "links!" FROM tag_counts
           WHERE tag = $2 AND ($1::bigint IS NULL OR user_id = $1)"#,
        user_id,
        tag,
    )
    .fetch_one(conn)
    .await
}

/// Locks the counters of each `(owners[i], tags[i])` (owner 0: links without one) in
/// this backend's shard, in key order, making those missing at 0. A transaction that
/// writes several links (a bulk create) calls it first with all their tags: its later
/// statements then find their counters locked by itself, whatever order they take them
/// in, so two such transactions in one shard wait for each other instead of deadlocking
/// (each statement's trigger alone takes its counters in key order, not the whole
/// transaction's).
pub async fn lock_counters(
    conn: &mut PgConnection,
    owners: &[i64],
    tags: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO tag_counts AS c (user_id, tag, shard, n) \
         SELECT DISTINCT owner, tag, list_count_shard(), 0::bigint \
         FROM unnest($1::bigint[], $2::text[]) AS k(owner, tag) ORDER BY 1, 2 \
         ON CONFLICT (user_id, tag, shard) DO UPDATE SET n = c.n",
        owners,
        tags,
    )
    .execute(conn)
    .await?;
    Ok(())
}
