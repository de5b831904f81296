//! A link's click analytics, read from the rollups the `events` triggers keep (migration
//! `20261202000001`): the cost is the window's length, never the number of clicks.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

/// A link's click counters.
#[derive(Debug, Clone)]
pub struct ClickCounters {
    pub clicks: i64,
    pub last_click_at: Option<DateTime<Utc>>,
}

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

/// The link's total clicks and its latest click (zero and none before its first).
pub async fn click_counters(
    conn: &mut PgConnection,
    url_id: i64,
) -> Result<ClickCounters, sqlx::Error> {
    let counters = sqlx::query_as!(
        ClickCounters,
        r#"SELECT clicks, last_click_at AS "last_click_at?" FROM link_clicks WHERE url_id = $1"#,
        url_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(counters.unwrap_or(ClickCounters {
        clicks: 0,
        last_click_at: None,
    }))
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
        r#"SELECT series.day::date AS "date!", coalesce(d.clicks, 0) AS "clicks!"
           FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2::int - 1),
                                (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS series(day)
           LEFT JOIN link_daily_clicks d ON d.url_id = $1 AND d.day = series.day::date
           ORDER BY series.day"#,
        url_id,
        days,
    )
    .fetch_all(conn)
    .await
}

/// The `limit` referrers with the most clicks on the link; ties in name order, with
/// "none sent" last.
pub async fn top_referrers(
    conn: &mut PgConnection,
    url_id: i64,
    limit: i64,
) -> Result<Vec<ReferrerClicksRow>, sqlx::Error> {
    sqlx::query_as!(
        ReferrerClicksRow,
        r#"SELECT NULLIF(referrer, '') AS referrer, clicks
           FROM link_referrers WHERE url_id = $1
           ORDER BY clicks DESC, referrer = '', referrer LIMIT $2"#,
        url_id,
        limit,
    )
    .fetch_all(conn)
    .await
}
