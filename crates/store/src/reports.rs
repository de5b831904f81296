//! The `link_reports` table: links reported by anyone, listed to admins. A report holds
//! the link, a reason and an optional comment; nothing about who sent it.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use shortener_domain::Page;

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub url_id: i64,
    pub reason: String,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl crate::Keyed for Report {
    fn key(&self) -> i64 {
        self.id
    }
}

/// Stores a report of link `url_id`.
pub async fn insert(
    conn: &mut PgConnection,
    url_id: i64,
    reason: &str,
    comment: Option<&str>,
) -> Result<Report, sqlx::Error> {
    sqlx::query_as!(
        Report,
        "INSERT INTO link_reports (url_id, reason, comment) VALUES ($1, $2, $3) \
         RETURNING id, url_id, reason, comment, created_at",
        url_id,
        reason,
        comment,
    )
    .fetch_one(conn)
    .await
}

/// One page of reports in id order, and how many there are (from `list_counts`).
pub async fn list(conn: &mut PgConnection, page: Page) -> Result<(Vec<Report>, i64), sqlx::Error> {
    let reports = sqlx::query_as!(
        Report,
        "SELECT id, url_id, reason, comment, created_at FROM link_reports \
         WHERE id > $3 ORDER BY id LIMIT $1 OFFSET $2",
        page.limit(),
        page.offset(),
        page.after().unwrap_or(i64::MIN),
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(n), 0)::bigint AS "total!" FROM list_counts
           WHERE list = 'reports' AND filter = ''"#
    )
    .fetch_one(conn)
    .await?;
    Ok((reports, total))
}
