//! `webhook_click_tallies`: the clicks the fold tallies for `link.clicked` subscribers,
//! each link's turned into one event once its first is a window old.

use std::time::Duration;

use sqlx::PgConnection;

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Links whose tally became an event.
    pub links: i64,
    /// Deliveries queued for them.
    pub queued: i64,
}

/// Turns at most `limit` tallies whose first click is `window` old into one
/// `link.clicked` event each and removes them, in one statement: a click is in exactly
/// one event, and replicas flushing at once skip each other's rows.
pub async fn flush_due(
    conn: &mut PgConnection,
    window: Duration,
    limit: i64,
) -> Result<Flushed, sqlx::Error> {
    sqlx::query_as!(
        Flushed,
        r#"WITH due AS (
               DELETE FROM webhook_click_tallies
               WHERE url_id IN (SELECT url_id FROM webhook_click_tallies
                                WHERE first_at <= now() - make_interval(secs => $1)
                                ORDER BY first_at LIMIT $2
                                FOR UPDATE SKIP LOCKED)
               RETURNING url_id, humans, bots, previews, first_at, last_at)
           SELECT count(*) AS "links!",
                  coalesce(sum(enqueue_link_event(url_id, 'link.clicked', NULL,
                      jsonb_build_object('clicks', jsonb_build_object(
                          'count', humans + bots + previews,
                          'humans', humans, 'bots', bots, 'previews', previews,
                          'first_at', to_char(first_at AT TIME ZONE 'UTC',
                                              'YYYY-MM-DD"T"HH24:MI:SS'),
                          'last_at', to_char(last_at AT TIME ZONE 'UTC',
                                             'YYYY-MM-DD"T"HH24:MI:SS'))))), 0)::bigint
                      AS "queued!"
           FROM due"#,
        window.as_secs_f64(),
        limit,
    )
    .fetch_one(conn)
    .await
}
