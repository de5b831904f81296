//! The `webhook_deliveries` table, the outbox of webhooks: a change writes its deliveries
//! in its own transaction ([`enqueue`]); every replica's worker claims due ones under a
//! lease ([`claim`]) and records each attempt's outcome only while it still holds the
//! claim ([`record_delivered`], [`record_failed`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use shortener_domain::{Page, WebhookDelivery};

/// Queues a link's event for every live, enabled subscription that wants it: the link
/// owner's and the unowned ones (`enqueue_link_event`, which builds the body from the
/// link's row as this transaction sees it, with `changes` when given). Returns how many
/// deliveries it queued. Called in the change's transaction, so the deliveries commit or
/// roll back with it.
pub async fn enqueue(
    conn: &mut PgConnection,
    url_id: i64,
    event_type: &str,
    changes: Option<&serde_json::Value>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT enqueue_link_event($1, $2, $3) AS "queued!""#,
        url_id,
        event_type,
        changes,
    )
    .fetch_one(conn)
    .await
}

/// Queues one event (with the same `changes`) for each of the links with these codes, in
/// one statement; returns how many deliveries.
pub async fn enqueue_by_codes(
    conn: &mut PgConnection,
    codes: &[&str],
    event_type: &str,
    changes: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    if codes.is_empty() {
        return Ok(0);
    }
    let codes: Vec<String> = codes.iter().map(|code| (*code).to_owned()).collect();
    sqlx::query_scalar!(
        r#"SELECT coalesce(sum(enqueue_link_event(u.id, $2, $3)), 0)::bigint AS "queued!"
           FROM urls u WHERE u.short_code = ANY($1)"#,
        &codes,
        event_type,
        changes,
    )
    .fetch_one(conn)
    .await
}

/// Queues a link's event the first time it is asked for this `occasion` (whichever replica
/// asks first, in one statement): `true` that time, `false` after.
pub async fn enqueue_once(
    conn: &mut PgConnection,
    url_id: i64,
    event_type: &str,
    occasion: &str,
) -> Result<bool, sqlx::Error> {
    let first = sqlx::query_scalar!(
        r#"WITH first AS (
               INSERT INTO webhook_occasions (url_id, event, occasion) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING url_id)
           SELECT enqueue_link_event(url_id, $2, NULL) AS "queued!" FROM first"#,
        url_id,
        event_type,
        occasion,
    )
    .fetch_optional(conn)
    .await?;
    Ok(first.is_some())
}

/// A delivery claimed for one attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: String,
    pub payload: String,
    /// Attempts so far, this one included: the claim's token.
    pub attempts: i32,
    /// Put back for its receiver's pacing before: this is its slot, to be used as is.
    pub paced: bool,
    pub url: String,
    pub secret: String,
}

/// Claims up to `limit` due deliveries of live, enabled subscriptions, oldest due first:
/// each one's attempt is counted and it is leased for `lease`, so no other
/// replica takes it while this one sends it, and another does once the lease runs out
/// (this replica died). Rows another replica is claiming are skipped, not waited for.
pub async fn claim(
    conn: &mut PgConnection,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        "WITH due AS ( \
             SELECT d.id FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= now() \
               AND (d.leased_until IS NULL OR d.leased_until <= now()) AND w.enabled AND w.deleted_at IS NULL \
             ORDER BY d.next_attempt_at LIMIT $1 \
             FOR UPDATE OF d SKIP LOCKED) \
         UPDATE webhook_deliveries d \
         SET attempts = d.attempts + 1, \
             leased_until = now() + make_interval(secs => $2) \
         FROM due, webhooks w \
         WHERE d.id = due.id AND w.id = d.webhook_id \
         RETURNING d.id, d.webhook_id, d.message_id, d.payload, d.attempts, d.paced, w.url, w.secret",
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(conn)
    .await
}

/// Records a successful attempt, if the claim `attempts` is still this worker's; the
/// subscription's run of failed deliveries ends, in the same statement. `false` when the
/// claim was lost.
pub async fn record_delivered(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    status_code: i32,
) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query_scalar!(
        r#"WITH delivered AS (
               UPDATE webhook_deliveries SET status = 'delivered', finished_at = now(),
                      last_attempt_at = now(), leased_until = NULL, paced = false,
                      last_status_code = $3, last_error = NULL
               WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING webhook_id),
           reset AS (
               UPDATE webhooks w SET consecutive_failures = 0 FROM delivered d
               WHERE w.id = d.webhook_id AND w.consecutive_failures <> 0)
           SELECT webhook_id AS "webhook_id!" FROM delivered"#,
        id,
        attempts,
        status_code,
    )
    .fetch_optional(conn)
    .await?;
    Ok(recorded.is_some())
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Tried again later.
    Retrying,
    /// Out of attempts: the delivery failed.
    Failed,
    /// Out of attempts, and the subscription was turned off for its run of failures.
    FailedAndDisabled,
    /// The claim was lost (its lease ran out and another replica took it).
    ClaimLost,
}

/// Records a failed attempt (if the claim is still this worker's): due again after
/// `retry_in`, or, with no retry left, failed, counted against its subscription, which is
/// turned off with `disable_reason` once `disable_after` deliveries in a row have failed.
/// Runs in the caller's transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "one attempt's outcome, field by field"
)]
pub async fn record_failed(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    status_code: Option<i32>,
    error: &str,
    retry_in: Option<Duration>,
    disable_after: i32,
    disable_reason: &str,
) -> Result<AfterFailure, sqlx::Error> {
    let webhook = sqlx::query_scalar!(
        "UPDATE webhook_deliveries SET last_status_code = $3, last_error = $4, \
                last_attempt_at = now(), leased_until = NULL, paced = false, \
                status = CASE WHEN $5::float8 IS NULL THEN 'failed' ELSE 'pending' END, \
                finished_at = CASE WHEN $5::float8 IS NULL THEN now() END, \
                next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at \
                                       ELSE now() + make_interval(secs => $5::float8) END \
         WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING webhook_id",
        id,
        attempts,
        status_code,
        error,
        retry_in.map(|wait| wait.as_secs_f64()),
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(webhook) = webhook else {
        return Ok(AfterFailure::ClaimLost);
    };
    if retry_in.is_some() {
        return Ok(AfterFailure::Retrying);
    }
    // The old row's `enabled` read under the row's lock: a subscription its owner turned
    // off (or the service already did) is not turned off again.
    let disabled = sqlx::query_scalar!(
        r#"WITH old AS (SELECT id, enabled FROM webhooks WHERE id = $1 FOR NO KEY UPDATE),
           counted AS (
               UPDATE webhooks w SET consecutive_failures = w.consecutive_failures + 1,
                      enabled = w.enabled AND w.consecutive_failures + 1 < $2,
                      disabled_reason = CASE WHEN w.enabled AND w.consecutive_failures + 1 >= $2
                                             THEN $3 ELSE w.disabled_reason END
               FROM old WHERE w.id = old.id
               RETURNING old.enabled AND NOT w.enabled AS turned_off)
           SELECT turned_off AS "turned_off!" FROM counted"#,
        webhook,
        disable_after,
        disable_reason,
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    if disabled {
        hold(conn, webhook).await?;
    }
    Ok(if disabled {
        AfterFailure::FailedAndDisabled
    } else {
        AfterFailure::Failed
    })
}

/// A delivery as it is listed.
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    message_id: String,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(row: DeliveryRow) -> Self {
        let pending = row.status == "pending";
        Self {
            id: row.id,
            webhook_id: row.webhook_id,
            message_id: row.message_id,
            event_type: row.event_type,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: pending.then_some(row.next_attempt_at),
            last_attempt_at: row.last_attempt_at,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// One page of a subscription's deliveries in id order (oldest first), and how many it has (kept for
/// the retention window only: counted on its index).
pub async fn list(
    conn: &mut PgConnection,
    webhook_id: i64,
    page: Page,
) -> Result<(Vec<WebhookDelivery>, i64), sqlx::Error> {
    let items = sqlx::query_as!(
        DeliveryRow,
        "SELECT id, webhook_id, message_id, event_type, status, attempts, next_attempt_at, \
                last_attempt_at, last_status_code, last_error, created_at, finished_at \
         FROM webhook_deliveries WHERE webhook_id = $1 AND id > $4 \
         ORDER BY id LIMIT $2 OFFSET $3",
        webhook_id,
        page.limit(),
        page.offset(),
        page.after().unwrap_or(i64::MIN),
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM webhook_deliveries WHERE webhook_id = $1"#,
        webhook_id
    )
    .fetch_one(conn)
    .await?;
    Ok((items.into_iter().map(Into::into).collect(), total))
}

/// Makes a subscription's delivery due now again: one more attempt, whatever its state.
/// One being sent right now is left to that attempt. `None` when there is no such
/// delivery, or it is being sent.
pub async fn retry_now(
    conn: &mut PgConnection,
    webhook_id: i64,
    id: i64,
) -> Result<Option<WebhookDelivery>, sqlx::Error> {
    let row = sqlx::query_as!(
        DeliveryRow,
        "UPDATE webhook_deliveries SET status = 'pending', finished_at = NULL, \
                next_attempt_at = now() \
         WHERE id = $1 AND webhook_id = $2 \
           AND (leased_until IS NULL OR leased_until <= now()) \
         RETURNING id, webhook_id, message_id, event_type, status, attempts, next_attempt_at, \
                   last_attempt_at, last_status_code, last_error, created_at, finished_at",
        id,
        webhook_id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

/// The outbox's backlog: deliveries waiting (due or not), when the oldest of them was
/// queued, and since when the most overdue one has been due (due, not being sent, its
/// subscription on: it waits only for a worker).
#[derive(Debug, Clone, Copy)]
pub struct Backlog {
    pub pending: i64,
    pub oldest_queued: Option<DateTime<Utc>>,
    pub oldest_due: Option<DateTime<Utc>>,
}

/// The outbox's [`Backlog`], from the index of waiting deliveries.
pub async fn backlog(conn: &mut PgConnection) -> Result<Backlog, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "pending!", min(d.created_at) AS oldest_queued,
                  min(d.next_attempt_at) FILTER (
                      WHERE d.next_attempt_at <= now()
                        AND (d.leased_until IS NULL OR d.leased_until <= now())
                        AND w.enabled AND w.deleted_at IS NULL) AS oldest_due
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.status = 'pending'"#
    )
    .fetch_one(conn)
    .await?;
    Ok(Backlog {
        pending: row.pending,
        oldest_queued: row.oldest_queued,
        oldest_due: row.oldest_due,
    })
}

/// Removes up to `limit` finished deliveries that finished before `cutoff`; returns how
/// many.
pub async fn prune_finished_before(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "DELETE FROM webhook_deliveries WHERE id IN ( \
             SELECT id FROM webhook_deliveries \
             WHERE status IN ('delivered', 'failed') AND finished_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Whether a subscription has this delivery.
pub async fn exists(
    conn: &mut PgConnection,
    webhook_id: i64,
    id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2) AS "found!""#,
        id,
        webhook_id
    )
    .fetch_one(conn)
    .await
}

/// Puts a claimed delivery back, due after `wait`, without counting the attempt (its
/// receiver's pacing). `false` when the claim was lost.
pub async fn postpone(
    conn: &mut PgConnection,
    id: i64,
    attempts: i32,
    wait: Duration,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE webhook_deliveries SET attempts = attempts - 1, leased_until = NULL, paced = true, \
                next_attempt_at = now() + make_interval(secs => $3) \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        id,
        attempts,
        wait.as_secs_f64(),
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Holds a subscription's waiting deliveries while it is off: out of the claims' index
/// (those being sent now finish their attempt). Returns how many.
pub async fn hold(conn: &mut PgConnection, webhook_id: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'held' \
         WHERE webhook_id = $1 AND status = 'pending' \
           AND (leased_until IS NULL OR leased_until <= now())",
        webhook_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Releases a subscription's held deliveries (it is on again): due as they were.
pub async fn release(conn: &mut PgConnection, webhook_id: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'pending' WHERE webhook_id = $1 AND status = 'held'",
        webhook_id
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// Ends the waiting deliveries of deleted subscriptions (`webhook_ids`): failed, never
/// sent, and removed with the other finished ones after the retention.
pub async fn abandon(conn: &mut PgConnection, webhook_ids: &[i64]) -> Result<u64, sqlx::Error> {
    let result = sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'failed', finished_at = now(), \
                last_error = 'the subscription was deleted' \
         WHERE webhook_id = ANY($1) AND status IN ('pending', 'held')",
        webhook_ids
    )
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}
