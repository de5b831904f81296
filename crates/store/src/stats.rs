//! A link's click analytics, read from the rollups (migration `20261202000001`) plus the
//! link's pending deltas not yet folded into them (migration `20261207000004`), in one
//! statement each, so every figure is exact: the cost is the window's length and the
//! deltas of one fold interval, never the number of clicks. Also the erasure's fold of
//! the referring-host rollup, which keeps the counts and drops the hosts.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Connection, PgConnection};

use shortener_domain::DayClicks;

/// A link's click counters.
#[derive(Debug, Clone)]
pub struct ClickCounters {
    pub clicks: i64,
    pub last_click_at: Option<DateTime<Utc>>,
}

/// Click counts of one referring host (`None`: none sent).
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
        r#"SELECT clicks AS "clicks!", last_click_at AS "last_click_at?"
           FROM link_clicks_now WHERE url_id = $1"#,
        url_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(counters.unwrap_or(ClickCounters {
        clicks: 0,
        last_click_at: None,
    }))
}

/// Every day from `from` to `to` (UTC, both included), zero-filled, so a chart needs no
/// gap logic.
pub async fn clicks_by_day(
    conn: &mut PgConnection,
    url_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayClicks>, sqlx::Error> {
    sqlx::query_as!(
        DayClicks,
        r#"SELECT series.day::date AS "date!", coalesce(d.clicks, 0) AS "clicks!",
                  coalesce(d.humans, 0) AS "humans!", coalesce(d.bots, 0) AS "bots!",
                  coalesce(d.previews, 0) AS "previews!", coalesce(d.visitors, 0) AS "visitors!"
           FROM generate_series($2::date, $3::date, interval '1 day') AS series(day)
           LEFT JOIN (SELECT day, clicks, humans, bots, previews, visitors
                      FROM link_daily_clicks_now
                      WHERE url_id = $1 AND day BETWEEN $2 AND $3) d
                  ON d.day = series.day::date
           ORDER BY series.day"#,
        url_id,
        from,
        to,
    )
    .fetch_all(conn)
    .await
}

/// The `limit` referring hosts with the most clicks on the link, of all time; ties in
/// name order, with "none sent" last. The candidates are the rollup's top `limit` and
/// every host with pending clicks: a host outside both has at most the rollup's
/// `limit`-th count.
pub async fn top_referrers(
    conn: &mut PgConnection,
    url_id: i64,
    limit: i64,
) -> Result<Vec<ReferrerClicksRow>, sqlx::Error> {
    sqlx::query_as!(
        ReferrerClicksRow,
        r#"WITH pending AS (
               SELECT referrer_host AS host, sum(clicks)::bigint AS clicks FROM click_deltas
               WHERE url_id = $1 AND clicks > 0 GROUP BY referrer_host),
           candidates AS (
               (SELECT host FROM link_referrer_hosts WHERE url_id = $1
                ORDER BY clicks DESC, host = '', host LIMIT $2)
               UNION SELECT host FROM pending),
           counted AS (
               SELECT c.host, coalesce(r.clicks, 0) + coalesce(p.clicks, 0) AS clicks
               FROM candidates c
               LEFT JOIN link_referrer_hosts r ON r.url_id = $1 AND r.host = c.host
               LEFT JOIN pending p ON p.host = c.host)
           SELECT NULLIF(host, '') AS referrer, clicks AS "clicks!" FROM counted
           ORDER BY clicks DESC, host = '', host LIMIT $2"#,
        url_id,
        limit,
    )
    .fetch_all(conn)
    .await
}

/// The click counters of one link, for planning work over a user's links in bounded
/// statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkTally {
    pub url_id: i64,
    /// Every click ever counted: a bound on the link's referrer rows.
    pub clicks: i64,
    /// The click events still stored (`link_clicks.retained`).
    pub retained: i64,
}

/// The click counters of every link the user owns (soft-deleted links too) that was ever
/// clicked, in id order, as folded: the caller folds the pending deltas first. A link
/// never clicked has no rollups and no click events.
pub async fn owned_link_tallies(
    conn: &mut PgConnection,
    user_id: i64,
) -> Result<Vec<LinkTally>, sqlx::Error> {
    sqlx::query_as!(
        LinkTally,
        "SELECT c.url_id, c.clicks, c.retained FROM urls u JOIN link_clicks c ON c.url_id = u.id \
         WHERE u.user_id = $1 ORDER BY u.id",
        user_id
    )
    .fetch_all(conn)
    .await
}

/// Where a round of [`fold_referrers`] stopped: a link and a referring host.
pub type ReferrerKey = (i64, String);

/// Folds the next `limit` referring-host rows of the links `url_ids` after `after`, in
/// key order, into their links' '' (none sent) rows, adding their clicks there, so each
/// link's total stays the same; how many rows it folded and the last of them (fewer than
/// `limit`: none are left). One statement, so an interruption leaves every total whole,
/// and calling it again goes on where it stopped. Start at `(0, "")`.
///
/// Runs in turn with the fold of pending deltas (`rollups::wait_for_fold_turn`), which
/// upserts the same rows: the two never hold locks on them at once.
pub async fn fold_referrers(
    conn: &mut PgConnection,
    url_ids: &[i64],
    after: &ReferrerKey,
    limit: i64,
) -> Result<(i64, Option<ReferrerKey>), sqlx::Error> {
    let mut tx = conn.begin().await?;
    crate::rollups::wait_for_fold_turn(&mut tx).await?;
    let row = sqlx::query!(
        r#"WITH batch AS (
               SELECT url_id, host FROM link_referrer_hosts
               WHERE url_id = ANY($1) AND host <> '' AND (url_id, host) > ($2, $3)
               ORDER BY url_id, host LIMIT $4 FOR UPDATE),
           folded AS (
               DELETE FROM link_referrer_hosts r USING batch b
               WHERE r.url_id = b.url_id AND r.host = b.host
               RETURNING r.url_id, r.clicks),
           kept AS (
               INSERT INTO link_referrer_hosts AS c (url_id, host, clicks)
               SELECT url_id, '', sum(clicks)::bigint FROM folded
               GROUP BY url_id ORDER BY url_id
               ON CONFLICT (url_id, host) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks
               RETURNING 1),
           last AS (SELECT url_id, host FROM batch ORDER BY url_id DESC, host DESC LIMIT 1)
           SELECT (SELECT count(*) FROM folded) AS "folded!",
                  (SELECT url_id FROM last) AS last_url_id,
                  (SELECT host FROM last) AS last_host"#,
        url_ids,
        after.0,
        after.1,
        limit,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((row.folded, row.last_url_id.zip(row.last_host)))
}
