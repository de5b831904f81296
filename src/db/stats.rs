//! Per-link click series from `click` events: clicks per day and top referrers.

use chrono::NaiveDate;
use sqlx::PgConnection;

/// Click counts of one day.
#[derive(Debug, Clone)]
pub struct DayClicksRow {
    pub date: NaiveDate,
    pub clicks: i64,
}

/// Click counts of one referrer (`None`: none sent).
#[derive(Debug, Clone)]
pub struct ReferrerClicksRow {
    pub referrer: Option<String>,
    pub clicks: i64,
}

/// Every one of the last `days` days (UTC, today included), zero-filled, so a chart needs
/// no gap logic.
pub async fn clicks_by_day(
    conn: &mut PgConnection,
    url_id: i64,
    days: i32,
) -> Result<Vec<DayClicksRow>, sqlx::Error> {
    sqlx::query_as!(
        DayClicksRow,
        r#"SELECT day::date AS "date!", count(e.id) AS "clicks!"
           FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2::int - 1),
                                (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS day
           LEFT JOIN events e ON e.url_id = $1 AND e.event_type = 'click'
                AND e.timestamp >= day::date AT TIME ZONE 'UTC'
                AND e.timestamp < (day::date + 1) AT TIME ZONE 'UTC'
           GROUP BY day ORDER BY day"#,
        url_id,
        days,
    )
    .fetch_all(conn)
    .await
}

/// The `limit` referrers with the most clicks on the link.
pub async fn top_referrers(
    conn: &mut PgConnection,
    url_id: i64,
    limit: i64,
) -> Result<Vec<ReferrerClicksRow>, sqlx::Error> {
    sqlx::query_as!(
        ReferrerClicksRow,
        r#"SELECT NULLIF(details->>'referrer', '') AS referrer, count(*) AS "clicks!"
           FROM events WHERE url_id = $1 AND event_type = 'click'
           GROUP BY 1 ORDER BY 2 DESC, referrer NULLS LAST LIMIT $2"#,
        url_id,
        limit,
    )
    .fetch_all(conn)
    .await
}
