//! Clicks across links: a scope's days, hours and keys (a scope is 0, every link, or a
//! user's id, that user's links), read from the rollups the fold keeps per scope
//! (migration `20261207000009`) plus what is pending, in one statement each, as a link's
//! are in `stats` and `breakdowns`; and a scope's links ranked by their clicks over a
//! range, from the links the fold lists as each day's first.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::breakdowns::{HourClicks, weights};
use shortener_domain::{ClassFilter, DayClicks, KeyClicks};

/// The scope of every link.
pub const EVERY_LINK: i64 = 0;

/// Every day from `from` to `to` (UTC, both included) of the scope, zero-filled.
pub async fn clicks_by_day(
    conn: &mut PgConnection,
    scope: i64,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Vec<DayClicks>, sqlx::Error> {
    sqlx::query_as!(
        DayClicks,
        r#"SELECT series.day::date AS "date!", coalesce(d.clicks, 0) AS "clicks!",
                  coalesce(d.humans, 0) AS "humans!", coalesce(d.bots, 0) AS "bots!",
                  coalesce(d.previews, 0) AS "previews!", coalesce(d.visitors, 0) AS "visitors!"
           FROM generate_series($2::date, $3::date, interval '1 day') AS series(day)
           LEFT JOIN (SELECT day, clicks, humans, bots, previews, visitors
                      FROM scope_daily_clicks_now
                      WHERE scope = $1 AND day BETWEEN $2 AND $3) d
                  ON d.day = series.day::date
           ORDER BY series.day"#,
        scope,
        from,
        to,
    )
    .fetch_all(conn)
    .await
}

/// Every hour from `from` 00:00 to `to` 23:00 (UTC) of the scope, zero-filled.
pub async fn clicks_by_hour(
    conn: &mut PgConnection,
    scope: i64,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Vec<HourClicks>, sqlx::Error> {
    let first = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let last = to.and_hms_opt(23, 0, 0).unwrap_or_default().and_utc();
    sqlx::query_as!(
        HourClicks,
        r#"SELECT series.hour AS "hour!", coalesce(h.humans, 0) AS "humans!",
                  coalesce(h.bots, 0) AS "bots!", coalesce(h.previews, 0) AS "previews!",
                  coalesce(h.visitors, 0) AS "visitors!"
           FROM generate_series($2::timestamptz, $3::timestamptz, interval '1 hour') AS series(hour)
           LEFT JOIN (SELECT hour, humans, bots, previews, visitors FROM scope_hourly_clicks_now
                      WHERE scope = $1 AND hour BETWEEN $2 AND $3) h
                  ON h.hour = series.hour
           ORDER BY series.hour"#,
        scope,
        first,
        last,
    )
    .fetch_all(conn)
    .await
}

/// The `limit` keys of the dimension stored under the letter `dimension` with the most
/// clicks of `class` in the scope over the range; ties in key order, unknown last.
pub async fn clicks_by_key(
    conn: &mut PgConnection,
    scope: i64,
    dimension: u8,
    (from, to): (NaiveDate, NaiveDate),
    class: ClassFilter,
    limit: i64,
) -> Result<Vec<KeyClicks>, sqlx::Error> {
    let [humans, bots, previews, visitors] = weights(class);
    sqlx::query_as!(
        KeyClicks,
        r#"SELECT NULLIF(key, '') AS key,
                  sum(humans * $5::bigint + bots * $6::bigint + previews * $7::bigint)::bigint
                      AS "clicks!",
                  sum(visitors * $8::bigint)::bigint AS "visitors!"
           FROM scope_dimension_clicks_now
           WHERE scope = $1 AND dimension = $2 AND day BETWEEN $3 AND $4
           GROUP BY key
           HAVING sum(humans * $5 + bots * $6 + previews * $7) > 0
           ORDER BY 2 DESC, key = '', key
           LIMIT $9"#,
        scope,
        dimension as i8,
        from,
        to,
        humans,
        bots,
        previews,
        visitors,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// The top `limit` keys by human clicks of each of `dimensions` (their letters) in the
/// scope over the range, in one statement: `(letter, row)`.
pub async fn top_keys(
    conn: &mut PgConnection,
    scope: i64,
    dimensions: &[u8],
    (from, to): (NaiveDate, NaiveDate),
    limit: i64,
) -> Result<Vec<(u8, KeyClicks)>, sqlx::Error> {
    let letters: Vec<i8> = dimensions.iter().map(|&d| d as i8).collect();
    let rows = sqlx::query!(
        r#"SELECT dimension AS "dimension!", NULLIF(key, '') AS key, clicks AS "clicks!",
                  visitors AS "visitors!"
           FROM (SELECT dimension, key, sum(humans)::bigint AS clicks,
                        sum(visitors)::bigint AS visitors,
                        row_number() OVER (PARTITION BY dimension
                                           ORDER BY sum(humans) DESC, key = '', key) AS rank
                 FROM scope_dimension_clicks_now
                 WHERE scope = $1 AND dimension = ANY($2) AND day BETWEEN $3 AND $4
                 GROUP BY dimension, key
                 HAVING sum(humans) > 0) ranked
           WHERE rank <= $5
           ORDER BY dimension, rank"#,
        scope,
        &letters,
        from,
        to,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let key = KeyClicks {
                key: row.key,
                clicks: row.clicks,
                visitors: row.visitors,
            };
            (row.dimension as u8, key)
        })
        .collect())
}

/// The scope's `limit` links with the most clicks of `class` over the range (the key: the
/// link's id), most first, ties by id. The candidates are the links the fold listed among
/// a day's 100 first of the scope (`scope_top_links`, migration `20261207000010`), ranked
/// by those days, and the links with pending clicks, by all their days in the range; the
/// first `2 × limit` are then summed exactly from their own days. The cost is at most 400
/// rows a day of the range and `2 × limit` links, however many links the scope has; a
/// link never among a day's 100 first is not ranked.
pub async fn top_links(
    conn: &mut PgConnection,
    scope: i64,
    (from, to): (NaiveDate, NaiveDate),
    class: ClassFilter,
    limit: i64,
) -> Result<Vec<KeyClicks>, sqlx::Error> {
    let [humans, bots, previews, visitors] = weights(class);
    sqlx::query_as!(
        KeyClicks,
        r#"WITH pending AS (
               SELECT url_id, humans, bots, previews, visitors FROM click_deltas
               WHERE day BETWEEN $2 AND $3 AND ($1::bigint = 0 OR user_id = $1)),
           listed AS (
               SELECT url_id, humans, bots, previews FROM scope_top_links
               WHERE scope = $1 AND day BETWEEN $2 AND $3
                 AND url_id NOT IN (SELECT url_id FROM pending)
               UNION ALL
               SELECT url_id, humans, bots, previews FROM link_daily_clicks
               WHERE url_id IN (SELECT url_id FROM pending) AND day BETWEEN $2 AND $3
               UNION ALL
               SELECT url_id, humans, bots, previews FROM pending),
           candidates AS (
               SELECT url_id FROM listed
               GROUP BY url_id
               HAVING sum(humans * $5 + bots * $6 + previews * $7) > 0
               ORDER BY sum(humans * $5 + bots * $6 + previews * $7) DESC, url_id
               LIMIT 2 * $4::bigint)
           SELECT url_id::text AS key,
                  sum(humans * $5::bigint + bots * $6::bigint + previews * $7::bigint)::bigint
                      AS "clicks!",
                  sum(visitors * $8::bigint)::bigint AS "visitors!"
           FROM (SELECT url_id, humans, bots, previews, visitors FROM link_daily_clicks
                 WHERE url_id IN (SELECT url_id FROM candidates) AND day BETWEEN $2 AND $3
                 UNION ALL
                 SELECT url_id, humans, bots, previews, visitors FROM pending
                 WHERE url_id IN (SELECT url_id FROM candidates)) d
           GROUP BY url_id
           ORDER BY 2 DESC, url_id
           LIMIT $4"#,
        scope,
        from,
        to,
        limit,
        humans,
        bots,
        previews,
        visitors,
    )
    .fetch_all(conn)
    .await
}
