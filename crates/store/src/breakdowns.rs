//! A link's clicks broken down by a dimension (country, browser, OS, device, language,
//! referrer host) or by hour, read from the rollups the fold keeps (migration
//! `20261207000005`) plus what is pending, in one statement each: the cost is the range's
//! days times the dimension's keys, never the number of clicks.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Connection, PgConnection};

use shortener_domain::{ClassFilter, KeyClicks};

/// The weights of (humans, bots, previews, visitors) that count what `class` counts.
pub(crate) fn weights(class: ClassFilter) -> [i64; 4] {
    [
        class.clicks(1, 0, 0),
        class.clicks(0, 1, 0),
        class.clicks(0, 0, 1),
        class.visitors(1),
    ]
}

/// The `limit` keys of the dimension stored under the letter `dimension` with the most
/// clicks of `class` on the link from `from` to `to` (UTC days, both included); ties in
/// key order, unknown last. Keys with no such click are left out.
pub async fn clicks_by_key(
    conn: &mut PgConnection,
    url_id: i64,
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
           FROM link_dimension_clicks_now
           WHERE url_id = $1 AND dimension = $2 AND day BETWEEN $3 AND $4
           GROUP BY key
           HAVING sum(humans * $5 + bots * $6 + previews * $7) > 0
           ORDER BY 2 DESC, key = '', key
           LIMIT $9"#,
        url_id,
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

/// The top `limit` keys by human clicks of each of `dimensions` (their letters) on the
/// link over the range, in one statement: `(letter, row)`, each dimension's rows most
/// clicks first.
pub async fn top_keys(
    conn: &mut PgConnection,
    url_id: i64,
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
                 FROM link_dimension_clicks_now
                 WHERE url_id = $1 AND dimension = ANY($2) AND day BETWEEN $3 AND $4
                 GROUP BY dimension, key
                 HAVING sum(humans) > 0) ranked
           WHERE rank <= $5
           ORDER BY dimension, rank"#,
        url_id,
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
            (
                row.dimension as u8,
                KeyClicks {
                    key: row.key,
                    clicks: row.clicks,
                    visitors: row.visitors,
                },
            )
        })
        .collect())
}

/// Clicks of one hour, by class, and the visitors first seen in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourClicks {
    pub hour: DateTime<Utc>,
    pub humans: i64,
    pub bots: i64,
    pub previews: i64,
    pub visitors: i64,
}

/// Every hour from `from` 00:00 to `to` 23:00 (UTC), zero-filled.
pub async fn clicks_by_hour(
    conn: &mut PgConnection,
    url_id: i64,
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
           LEFT JOIN (SELECT hour, humans, bots, previews, visitors FROM link_hourly_clicks_now
                      WHERE url_id = $1 AND hour BETWEEN $2 AND $3) h
                  ON h.hour = series.hour
           ORDER BY series.hour"#,
        url_id,
        first,
        last,
    )
    .fetch_all(conn)
    .await
}

/// Where a round of [`fold_referrer_hosts`] stopped: a link, a day and a host.
pub type HostKey = (i64, NaiveDate, String);

/// Folds the next `limit` referrer-host rows of the links `url_ids` after `after`, in
/// key order, into their link and day's '' (none sent) rows, adding their counts there,
/// so every total stays the same (the erasure, as `stats::fold_referrers` does for the
/// all-time referrer counts); the same counts move likewise in the rollups of the links'
/// scopes (their owner's and every link's), where a host row left with nothing goes.
/// How many rows it folded and the last of them (fewer than `limit`: none are left). One
/// statement, in turn with the fold (it moves counts in the rows the fold writes). Start
/// at link 0 (any day, key "").
pub async fn fold_referrer_hosts(
    conn: &mut PgConnection,
    url_ids: &[i64],
    after: &HostKey,
    limit: i64,
) -> Result<(i64, Option<HostKey>), sqlx::Error> {
    let mut tx = conn.begin().await?;
    crate::rollups::wait_for_fold_turn(&mut tx).await?;
    let row = sqlx::query!(
        r#"WITH batch AS (
               SELECT url_id, day, key FROM link_dimension_clicks
               WHERE url_id = ANY($1) AND dimension = 'r' AND key <> ''
                 AND (url_id, day, key) > ($2, $3, $4)
               ORDER BY url_id, day, key LIMIT $5 FOR UPDATE),
           folded AS (
               DELETE FROM link_dimension_clicks r USING batch b
               WHERE r.url_id = b.url_id AND r.dimension = 'r' AND r.day = b.day
                 AND r.key = b.key
               RETURNING r.url_id, r.day, r.key, r.humans, r.bots, r.previews, r.visitors),
           moved AS (
               SELECT s.scope, f.day, f.key, sum(f.humans) AS humans, sum(f.bots) AS bots,
                      sum(f.previews) AS previews, sum(f.visitors) AS visitors
               FROM folded f JOIN urls u ON u.id = f.url_id,
                    click_scopes(u.user_id) AS s(scope)
               GROUP BY 1, 2, 3),
           scope_emptied AS (
               DELETE FROM scope_dimension_clicks c USING moved m
               WHERE c.scope = m.scope AND c.dimension = 'r' AND c.day = m.day
                 AND c.key = m.key AND (c.humans, c.bots, c.previews, c.visitors)
                     = (m.humans, m.bots, m.previews, m.visitors)
               RETURNING 1),
           scope_lowered AS (
               UPDATE scope_dimension_clicks c
               SET humans = c.humans - m.humans, bots = c.bots - m.bots,
                   previews = c.previews - m.previews, visitors = c.visitors - m.visitors
               FROM moved m
               WHERE c.scope = m.scope AND c.dimension = 'r' AND c.day = m.day
                 AND c.key = m.key AND (c.humans, c.bots, c.previews, c.visitors)
                     <> (m.humans, m.bots, m.previews, m.visitors)
               RETURNING 1),
           scope_kept AS (
               INSERT INTO scope_dimension_clicks AS c (scope, dimension, day, key, humans,
                                                        bots, previews, visitors)
               SELECT scope, 'r', day, '', sum(humans), sum(bots), sum(previews),
                      sum(visitors)
               FROM moved GROUP BY scope, day ORDER BY scope, day
               ON CONFLICT (scope, dimension, day, key) DO UPDATE
                   SET humans = c.humans + EXCLUDED.humans, bots = c.bots + EXCLUDED.bots,
                       previews = c.previews + EXCLUDED.previews,
                       visitors = c.visitors + EXCLUDED.visitors
               RETURNING 1),
           kept AS (
               INSERT INTO link_dimension_clicks AS c (url_id, dimension, day, key, humans,
                                                       bots, previews, visitors)
               SELECT url_id, 'r', day, '', sum(humans), sum(bots), sum(previews),
                      sum(visitors)
               FROM folded GROUP BY url_id, day ORDER BY url_id, day
               ON CONFLICT (url_id, dimension, day, key) DO UPDATE
                   SET humans = c.humans + EXCLUDED.humans, bots = c.bots + EXCLUDED.bots,
                       previews = c.previews + EXCLUDED.previews,
                       visitors = c.visitors + EXCLUDED.visitors
               RETURNING 1),
           last AS (SELECT url_id, day, key FROM batch
                    ORDER BY url_id DESC, day DESC, key DESC LIMIT 1)
           SELECT (SELECT count(*) FROM folded) AS "folded!",
                  (SELECT url_id FROM last) AS last_url_id,
                  (SELECT day FROM last) AS last_day,
                  (SELECT key FROM last) AS last_key"#,
        url_ids,
        after.0,
        after.1,
        after.2,
        limit,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let last = match (row.last_url_id, row.last_day, row.last_key) {
        (Some(url_id), Some(day), Some(key)) => Some((url_id, day, key)),
        _ => None,
    };
    Ok((row.folded, last))
}
