//! Batched click writes, exactly once: a batch's id is committed with its clicks, and a
//! batch whose id is already there is not written again. One statement inserts the clicks
//! as `click` events with their derived fields, their pending rollup deltas (by class) and
//! their human visitors (migrations `20261207000004` and `20261207000005`), which
//! [`crate::rollups::fold`] later adds to the link's counters and rollups.

use serde::Serialize;
use sqlx::{Connection, PgConnection};

use shortener_domain::{Click, ClickTraits};

/// What writing a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchWrite {
    /// Written now: `stored` of its clicks became events and `checks` more (HEAD requests)
    /// were counted as previews without an event; the clicks of a link whose row no
    /// longer exists are in neither, and the caller counts them.
    Written { stored: u64, checks: u64 },
    /// A batch with this id was committed before (a retry or a replay): nothing written.
    AlreadyWritten,
}

/// Writes the clicks of batch `id`, each with its traits (`traits[i]` of `clicks[i]`), as
/// `click` events attributed to each link's owner, in one transaction with the batch's
/// id, unless that id was committed before. Events get their ids in the order of
/// `clicks`.
///
/// Locks: none besides the rows it inserts. The writer only appends (events, deltas,
/// visitor ids and the batch id), with no foreign key; the rollups are upserted by the
/// fold alone (migration `20261207000004`). The unique rows it shares with other batches
/// are the batch id and a visitor id: a batch that meets one another uncommitted batch
/// inserted waits for that batch to end (then counts it only if that one rolled back).
/// Writers on the same hot links otherwise never wait for each other.
pub async fn write_batch(
    conn: &mut PgConnection,
    id: i64,
    clicks: &[Click],
    traits: &[ClickTraits],
) -> Result<BatchWrite, sqlx::Error> {
    debug_assert_eq!(clicks.len(), traits.len());
    let mut tx = conn.begin().await?;
    let first_time = sqlx::query!(
        "INSERT INTO click_batches (id, clicks) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        id,
        i32::try_from(clicks.len()).unwrap_or(i32::MAX),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !first_time {
        return Ok(BatchWrite::AlreadyWritten);
    }
    let written = insert_events(&mut tx, clicks, traits).await?;
    tx.commit().await?;
    Ok(written)
}

/// Inserts the clicks as events (HEAD checks excepted), into the click partitions (the
/// parent's counting trigger is not run), and in the same statement: each link and day's
/// human visitor ids into `link_day_visitors`, where those not seen before that day are
/// new visitors; and the pending deltas for `rollups::fold` to add to the rollups, one per
/// link, owner, day and referrer host of the batch and one per link, hour and combination of
/// dimensions, each with its clicks of each class and its new visitors (a visitor in the
/// row of its first click of the batch).
async fn insert_events(
    conn: &mut PgConnection,
    clicks: &[Click],
    traits: &[ClickTraits],
) -> Result<BatchWrite, sqlx::Error> {
    let url_ids: Vec<i64> = clicks.iter().map(|c| c.url_id).collect();
    let timestamps: Vec<_> = clicks.iter().map(|c| c.at).collect();
    // Each event's `details` as JSON text, which Postgres parses once: building it there
    // (`jsonb_build_object` over a dozen arguments a click) took a fifth of its CPU.
    let details = clicks
        .iter()
        .zip(traits)
        .map(|(click, traits)| details_of(click, traits))
        .collect::<Result<Vec<Option<String>>, _>>()
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let events: Vec<bool> = clicks.iter().map(|c| c.intent.is_event()).collect();
    let countries: Vec<Option<&str>> = clicks.iter().map(|c| c.country.as_deref()).collect();
    let visitors: Vec<Option<i64>> = clicks.iter().map(|c| c.visitor).collect();
    let classes: Vec<&str> = traits.iter().map(|t| t.class.as_str()).collect();
    let browsers: Vec<Option<&str>> = traits.iter().map(|t| t.browser).collect();
    let oses: Vec<Option<&str>> = traits.iter().map(|t| t.os).collect();
    let devices: Vec<Option<&str>> = traits.iter().map(|t| t.device).collect();
    let languages: Vec<Option<&str>> = traits.iter().map(|t| t.language.as_deref()).collect();
    let hosts: Vec<Option<&str>> = traits.iter().map(|t| t.referrer_host.as_deref()).collect();
    let variants: Vec<Option<String>> = clicks
        .iter()
        .map(|c| c.variant.map(|choice| choice.to_string()))
        .collect();
    let row = sqlx::query!(
        r#"WITH input AS (
               SELECT c.*, u.user_id, (c.ts AT TIME ZONE 'UTC')::date AS day
               FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], $4::bool[],
                           $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                           $10::text[], $11::text[], $12::bigint[], $13::text[])
                    WITH ORDINALITY AS c(url_id, ts, details, is_event, class, browser, os,
                                         device, language, country, referrer_host, visitor,
                                         variant, position)
               JOIN urls u ON u.id = c.url_id),
           stored AS (
               INSERT INTO events_clicks (url_id, user_id, event_type, timestamp, details)
               SELECT url_id, user_id, 'click', ts, details::jsonb
               FROM input WHERE is_event
               ORDER BY position
               RETURNING 1),
           firsts AS (
               SELECT DISTINCT ON (url_id, day, visitor) url_id, day, visitor, position
               FROM input WHERE class = 'human' AND visitor IS NOT NULL
               ORDER BY url_id, day, visitor, position),
           seen AS (
               INSERT INTO link_day_visitors (day, url_id, visitor)
               SELECT day, url_id, visitor FROM firsts ORDER BY 1, 2, 3
               ON CONFLICT DO NOTHING
               RETURNING day, url_id, visitor),
           counted AS (
               SELECT i.*, (n.visitor IS NOT NULL)::int AS new_visitor
               FROM input i
               LEFT JOIN (firsts f JOIN seen n USING (url_id, day, visitor))
                      ON f.position = i.position),
           pending AS (
               INSERT INTO click_deltas (url_id, user_id, day, referrer_host, clicks, humans,
                                         bots, previews, visitors, last_click_at)
               SELECT url_id, user_id, day, coalesce(referrer_host, ''),
                      count(*) FILTER (WHERE is_event),
                      count(*) FILTER (WHERE class = 'human'),
                      count(*) FILTER (WHERE class = 'bot'),
                      count(*) FILTER (WHERE class = 'preview'),
                      sum(new_visitor),
                      max(ts) FILTER (WHERE is_event)
               FROM counted GROUP BY 1, 2, 3, 4),
           dimensions AS (
               INSERT INTO dimension_deltas (url_id, user_id, hour, country, browser, os,
                                             device, language, referrer_host, variant, humans,
                                             bots, previews, visitors)
               SELECT url_id, user_id, date_trunc('hour', ts, 'UTC'), coalesce(country, ''),
                      coalesce(browser, ''), coalesce(os, ''), coalesce(device, ''),
                      coalesce(language, ''), coalesce(referrer_host, ''),
                      coalesce(variant, ''),
                      count(*) FILTER (WHERE class = 'human'),
                      count(*) FILTER (WHERE class = 'bot'),
                      count(*) FILTER (WHERE class = 'preview'),
                      sum(new_visitor)
               FROM counted GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
           SELECT (SELECT count(*) FROM stored) AS "stored!",
                  (SELECT count(*) FROM input WHERE NOT is_event) AS "checks!""#,
        &url_ids,
        &timestamps,
        &details as &[Option<String>],
        &events,
        &classes as &[&str],
        &browsers as &[Option<&str>],
        &oses as &[Option<&str>],
        &devices as &[Option<&str>],
        &languages as &[Option<&str>],
        &countries as &[Option<&str>],
        &hosts as &[Option<&str>],
        &visitors as &[Option<i64>],
        &variants as &[Option<String>],
    )
    .fetch_one(conn)
    .await?;
    Ok(BatchWrite::Written {
        stored: u64::try_from(row.stored).unwrap_or(0),
        checks: u64::try_from(row.checks).unwrap_or(0),
    })
}

/// A click event's `details`: its referrer and user agent (null when it sent none), its
/// class and why, and the derived fields that are known. `None` for a HEAD check, which
/// is no event.
fn details_of(click: &Click, traits: &ClickTraits) -> Result<Option<String>, serde_json::Error> {
    if !click.intent.is_event() {
        return Ok(None);
    }
    let variant = click.variant.map(|choice| choice.to_string());
    serde_json::to_string(&ClickDetails {
        referrer: click.referrer.as_deref(),
        user_agent: click.user_agent.as_deref(),
        class: traits.class.as_str(),
        reason: traits.reason,
        browser: traits.browser,
        os: traits.os,
        device: traits.device,
        language: traits.language.as_deref(),
        country: click.country.as_deref(),
        referrer_host: traits.referrer_host.as_deref(),
        variant: variant.as_deref(),
    })
    .map(Some)
}

/// The JSON object of a click event's `details` (docs/api.md, "Traffic classes and visitors").
#[derive(Serialize)]
struct ClickDetails<'a> {
    referrer: Option<&'a str>,
    user_agent: Option<&'a str>,
    class: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    browser: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer_host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
}

/// Forgets the batch ids committed before `cutoff`, at most `limit` of them (the upkeep
/// calls it in rounds, each a short statement); how many it deleted.
pub async fn forget_batches_before(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM click_batches WHERE id IN \
         (SELECT id FROM click_batches WHERE committed_at < $1 LIMIT $2)",
        cutoff,
        limit,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use shortener_domain::{Intent, TargetChoice, TrafficClass};

    fn traits(class: TrafficClass, reason: &'static str) -> ClickTraits {
        ClickTraits {
            class,
            reason,
            browser: None,
            os: None,
            device: None,
            language: None,
            referrer_host: None,
        }
    }

    fn parsed(click: &Click, traits: &ClickTraits) -> Option<Value> {
        details_of(click, traits)
            .unwrap()
            .map(|text| serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn a_click_without_headers_keeps_its_null_referrer_and_agent_and_leaves_out_the_unknown() {
        let click = Click::default();
        assert_eq!(
            parsed(&click, &traits(TrafficClass::Bot, "no_user_agent")),
            Some(json!({"referrer": null, "user_agent": null, "class": "bot",
                        "reason": "no_user_agent"}))
        );
    }

    #[test]
    fn every_known_field_is_in_the_details_and_text_is_escaped() {
        let click = Click {
            referrer: Some("https://news.example/\"quoted\"\\".into()),
            user_agent: Some("Mozilla/5.0\t(X11)".into()),
            country: Some("DE".into()),
            variant: Some(TargetChoice::Variant(1)),
            ..Click::default()
        };
        let traits = ClickTraits {
            browser: Some("Firefox"),
            os: Some("Linux"),
            device: Some("desktop"),
            language: Some("de".into()),
            referrer_host: Some("news.example".into()),
            ..traits(TrafficClass::Human, "browser")
        };
        assert_eq!(
            parsed(&click, &traits),
            Some(json!({
                "referrer": "https://news.example/\"quoted\"\\",
                "user_agent": "Mozilla/5.0\t(X11)",
                "class": "human", "reason": "browser", "browser": "Firefox", "os": "Linux",
                "device": "desktop", "language": "de", "country": "DE",
                "referrer_host": "news.example",
                "variant": TargetChoice::Variant(1).to_string(),
            }))
        );
    }

    #[test]
    fn a_head_check_has_no_details() {
        let click = Click {
            intent: Intent::Check,
            ..Click::default()
        };
        assert_eq!(parsed(&click, &traits(TrafficClass::Preview, "head")), None);
    }
}
