//! The `link_health` table: the destinations the checker watches, their last check and
//! status. Every replica enrols the recently clicked links ([`enrol_active`]), claims due
//! ones under a lease ([`claim`]) and records each result only while its claim holds
//! ([`record`]); a flip of status moves `urls.destination_down` and queues its webhook
//! event in the same transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use shortener_domain::{CheckResult, HealthFlip, HealthState, HealthStatus};

/// Enrols the live links clicked in the last `active_days` days that are not watched
/// yet, due at once, if no replica did within `period` (the turn is the one row of
/// `link_health_enrolment`; a replica that finds it taken, or being taken, skips the
/// scan without waiting). Returns how many it enrolled, `None` when it was not its turn.
pub async fn enrol_active(
    conn: &mut PgConnection,
    active_days: i32,
    period: Duration,
) -> Result<Option<u64>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let turn = sqlx::query_scalar!(
        "WITH free AS (SELECT only_row FROM link_health_enrolment \
                       WHERE last_at <= now() - make_interval(secs => $1) \
                       FOR UPDATE SKIP LOCKED) \
         UPDATE link_health_enrolment e SET last_at = now() FROM free \
         WHERE e.only_row = free.only_row RETURNING e.last_at",
        period.as_secs_f64(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if turn.is_none() {
        return Ok(None);
    }
    let done = sqlx::query!(
        "INSERT INTO link_health (url_id) \
         SELECT c.url_id FROM link_clicks c JOIN urls u ON u.id = c.url_id \
         WHERE c.last_click_at >= now() - make_interval(days => $1) \
           AND u.deleted_at IS NULL AND u.is_active \
           AND NOT EXISTS (SELECT 1 FROM link_health h WHERE h.url_id = c.url_id) \
         ORDER BY c.url_id \
         ON CONFLICT DO NOTHING",
        active_days,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(done.rows_affected()))
}

/// A due destination, claimed by this replica until `token` (its `next_check_at` now).
#[derive(Debug, Clone)]
pub struct Claimed {
    pub url_id: i64,
    /// The link's target; `None` when the link is gone or inactive.
    pub url: Option<String>,
    /// Whether it was clicked in the active window.
    pub active: bool,
    pub state: HealthState,
    /// The claim: the result is recorded only while `next_check_at` still holds it.
    pub token: DateTime<Utc>,
}

/// Claims at most `limit` due destinations for `lease` (`FOR UPDATE SKIP LOCKED`: two
/// replicas never claim one), oldest due first. The caller commits before checking.
pub async fn claim(
    conn: &mut PgConnection,
    limit: i64,
    lease: Duration,
    active_days: i32,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH due AS (
               SELECT url_id FROM link_health WHERE next_check_at <= now()
               ORDER BY next_check_at LIMIT $1
               FOR UPDATE SKIP LOCKED)
           UPDATE link_health h SET next_check_at = now() + make_interval(secs => $2)
           FROM due WHERE h.url_id = due.url_id
           RETURNING h.url_id, h.status, h.failures, h.down_since, h.next_check_at,
                     (SELECT u.original_url FROM urls u
                      WHERE u.id = h.url_id AND u.deleted_at IS NULL AND u.is_active) AS url,
                     EXISTS (SELECT 1 FROM link_clicks c
                             WHERE c.url_id = h.url_id
                               AND c.last_click_at >= now() - make_interval(days => $3))
                         AS "active!""#,
        limit,
        lease.as_secs_f64(),
        active_days,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Claimed {
            url_id: row.url_id,
            url: row.url,
            active: row.active,
            state: HealthState {
                status: HealthStatus::from_name(&row.status),
                failures: u32::try_from(row.failures).unwrap_or(0),
                down_since: row.down_since,
            },
            token: row.next_check_at,
        })
        .collect())
}

/// Stops watching a destination whose link is gone, inactive or no longer clicked (if
/// the claim still holds); a link that was down stops being treated as down, unannounced.
pub async fn retire(
    conn: &mut PgConnection,
    url_id: i64,
    token: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    lock_link(&mut tx, url_id).await?;
    sqlx::query!(
        "WITH gone AS (DELETE FROM link_health WHERE url_id = $1 AND next_check_at = $2 \
                       RETURNING url_id) \
         UPDATE urls SET destination_down = false \
         FROM gone WHERE urls.id = gone.url_id AND urls.destination_down",
        url_id,
        token,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Locks the link's `urls` row first, as an edit of the link does before its trigger
/// touches `link_health`: every writer of both takes them in that order, so none waits
/// for another in a cycle.
async fn lock_link(conn: &mut PgConnection, url_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT id FROM urls WHERE id = $1 FOR NO KEY UPDATE",
        url_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(())
}

/// Records a check of `checked_url` and the state it led to, due again after `next`, if
/// the claim still holds and the link still leads there; `false` when not (the
/// destination changed, or the lease lapsed). On a flip, the link's `destination_down`
/// follows and the flip's event is queued with the new `destination`, in the caller's
/// transaction (which takes the link's row first, as edits do).
pub async fn record(
    conn: &mut PgConnection,
    claimed: &Claimed,
    checked_url: &str,
    result: &CheckResult,
    state: HealthState,
    flip: Option<HealthFlip>,
    next: Duration,
) -> Result<bool, sqlx::Error> {
    if flip.is_some() {
        lock_link(&mut *conn, claimed.url_id).await?;
    }
    let recorded = sqlx::query_scalar!(
        r#"UPDATE link_health
           SET status = $3, failures = $4, down_since = $5, checked_at = now(),
               status_code = $6, error = $7, next_check_at = now() + make_interval(secs => $8)
           WHERE url_id = $1 AND next_check_at = $2
             AND EXISTS (SELECT 1 FROM urls u WHERE u.id = $1 AND u.original_url = $9)
           RETURNING url_id"#,
        claimed.url_id,
        claimed.token,
        state.status.name(),
        i32::try_from(state.failures).unwrap_or(i32::MAX),
        state.down_since,
        result.status_code.map(i32::from),
        result.error.as_deref(),
        next.as_secs_f64(),
        checked_url,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if recorded.is_none() {
        return Ok(false);
    }
    if let Some(flip) = flip {
        let (down, event) = match flip {
            HealthFlip::WentDown => (true, "link.destination_down"),
            HealthFlip::CameUp => (false, "link.destination_up"),
        };
        sqlx::query!(
            r#"WITH flipped AS (UPDATE urls SET destination_down = $2 WHERE id = $1 RETURNING id)
               SELECT enqueue_link_event(f.id, $3, NULL,
                          jsonb_build_object('destination', destination_health_json(h)))
                   AS "queued!"
               FROM flipped f JOIN link_health h ON h.url_id = f.id"#,
            claimed.url_id,
            down,
            event,
        )
        .fetch_optional(conn)
        .await?;
    }
    Ok(true)
}

/// The destinations down now, weighed by their links' clicks of the last two UTC days,
/// and how late the checks are.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownSummary {
    pub links: i64,
    /// Their links' clicks, together.
    pub clicks: i64,
    /// The clicks of the busiest of them.
    pub busiest: i64,
    /// How long the most overdue destination has been due unchecked, in seconds (0:
    /// none is): the checkers' lateness.
    pub overdue_seconds: i64,
}

/// How many destinations are down, and how many recent clicks their links had.
pub async fn down_summary(conn: &mut PgConnection) -> Result<DownSummary, sqlx::Error> {
    sqlx::query_as!(
        DownSummary,
        r#"SELECT count(*) AS "links!", coalesce(sum(r.clicks), 0)::bigint AS "clicks!",
                  coalesce(max(r.clicks), 0)::bigint AS "busiest!",
                  (SELECT coalesce(extract(epoch FROM now() - min(next_check_at)), 0)
                   FROM link_health WHERE next_check_at <= now())::bigint AS "overdue_seconds!"
           FROM link_health h
           CROSS JOIN LATERAL (
               SELECT coalesce(sum(d.clicks), 0) AS clicks FROM link_daily_clicks_now d
               WHERE d.url_id = h.url_id
                 AND d.day >= (now() AT TIME ZONE 'UTC')::date - 1) r
           WHERE h.status = 'down'"#
    )
    .fetch_one(conn)
    .await
}
