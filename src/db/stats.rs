//! Per-link click statistics: totals from the link's counters, series from `click` events.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgPool};
use utoipa::ToSchema;

use crate::domain::timestamp;

/// How many days `clicks_by_day` covers, today (UTC) included.
pub const DAYS: i32 = 30;
/// How many referrers `top_referrers` lists.
pub const TOP_REFERRERS: i64 = 10;

/// Click counts of one day.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct DayClicks {
    #[schema(value_type = String, example = "2026-01-31")]
    pub date: NaiveDate,
    pub clicks: i64,
}

/// Click counts of one referrer (`null`: none sent).
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct ReferrerClicks {
    pub referrer: Option<String>,
    pub clicks: i64,
}

/// Clicks totals, timing, daily series and top referrers of one link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkStats {
    pub url_id: i64,
    pub short_code: String,
    pub clicks: i64,
    #[serde(serialize_with = "timestamp::serialize_option")]
    #[schema(value_type = Option<String>, example = "2026-01-31T23:59:59")]
    pub last_click_at: Option<DateTime<Utc>>,
    pub clicks_by_day: Vec<DayClicks>,
    pub top_referrers: Vec<ReferrerClicks>,
}

/// The stats of a link known to exist.
pub async fn for_link(
    pool: &PgPool,
    url_id: i64,
    short_code: String,
) -> Result<LinkStats, sqlx::Error> {
    // Totals come from the counters the click writer keeps (no scan of the events).
    let (clicks, last_click_at): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT click_count, last_click_at FROM urls WHERE id = $1")
            .bind(url_id)
            .fetch_one(pool)
            .await?;
    // Every one of the last DAYS days, zero-filled, so a chart needs no gap logic.
    let clicks_by_day = sqlx::query_as(
        "SELECT day::date AS date, count(e.id) AS clicks \
         FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2 - 1), \
                              (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS day \
         LEFT JOIN events e ON e.url_id = $1 AND e.event_type = 'click' \
              AND e.timestamp >= day::date AT TIME ZONE 'UTC' \
              AND e.timestamp < (day::date + 1) AT TIME ZONE 'UTC' \
         GROUP BY day ORDER BY day",
    )
    .bind(url_id)
    .bind(DAYS)
    .fetch_all(pool)
    .await?;
    let top_referrers = sqlx::query_as(
        "SELECT NULLIF(details->>'referrer', '') AS referrer, count(*) AS clicks \
         FROM events WHERE url_id = $1 AND event_type = 'click' \
         GROUP BY 1 ORDER BY clicks DESC, referrer NULLS LAST LIMIT $2",
    )
    .bind(url_id)
    .bind(TOP_REFERRERS)
    .fetch_all(pool)
    .await?;
    Ok(LinkStats {
        url_id,
        short_code,
        clicks,
        last_click_at,
        clicks_by_day,
        top_referrers,
    })
}
