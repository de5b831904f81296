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
