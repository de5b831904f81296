-- Referrer rollups by host (issue 23): `link_referrers` was keyed by the full referrer
-- (up to 512 characters), so with tracking parameters or one URL per post (t.co, a feed)
-- it approached a row per click, kept for ever. The all-time referrer counts now keep
-- one row per link and referring host (lower case, without `www.`; '' when none was
-- sent or it was not a URL with a host), as the dimension rollups do. The full referrer
-- stays in the raw click event while it is retained (and in the CSV export).
--
--  * `referrer_host_of`: the host of a referrer, for the clicks that reach the deltas
--    through `events` (the seed import); the click writer sends the host it derived
--    with the same rule (`shortener_clicks::classify::referrer_host`; a test holds the
--    two to the same answers);
--  * `link_referrer_hosts` replaces `link_referrers`, its rows regrouped by host here
--    (one statement: at a million links with twenty referrers each, some minutes);
--  * `click_deltas.referrer` becomes `referrer_host`, its pending rows converted too.

CREATE FUNCTION referrer_host_of(referrer TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(regexp_replace(lower(substring(
               referrer FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[0-9A-Fa-f:.]+\]|[^/?#:@\[\]]+)')),
           '^www\.', ''), '')
$$;

CREATE TABLE link_referrer_hosts (
    url_id BIGINT NOT NULL,
    host TEXT NOT NULL,
    clicks BIGINT NOT NULL,
    PRIMARY KEY (url_id, host)
);
CREATE INDEX link_referrer_hosts_top_idx ON link_referrer_hosts (url_id, clicks DESC, host);

INSERT INTO link_referrer_hosts (url_id, host, clicks)
SELECT url_id, referrer_host_of(referrer), sum(clicks) FROM link_referrers GROUP BY 1, 2;

DROP VIEW link_referrers_now;
DROP TABLE link_referrers;

ALTER TABLE click_deltas RENAME COLUMN referrer TO referrer_host;
UPDATE click_deltas SET referrer_host = referrer_host_of(referrer_host) WHERE referrer_host <> '';

-- A HEAD's delta has no click: it names no referrer.
CREATE VIEW link_referrer_hosts_now AS
SELECT url_id, host, sum(clicks)::bigint AS clicks
FROM (SELECT url_id, host, clicks FROM link_referrer_hosts
      UNION ALL
      SELECT url_id, referrer_host, clicks FROM click_deltas WHERE clicks > 0) t
GROUP BY url_id, host;

-- As in migration 20261207000005, with the referrer hosts.
CREATE OR REPLACE FUNCTION fold_click_deltas(max_rows INTEGER, OUT rows BIGINT, OUT clicks BIGINT)
LANGUAGE sql AS $$
    WITH taken AS (
        DELETE FROM click_deltas
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM click_deltas LIMIT max_rows))
        RETURNING url_id, user_id, day, referrer_host, clicks, humans, bots, previews,
                  visitors, last_click_at),
    taken_dimensions AS (
        DELETE FROM dimension_deltas
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM dimension_deltas LIMIT max_rows))
        RETURNING *),
    totals AS (
        INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
        SELECT url_id, sum(clicks), sum(clicks), max(last_click_at) FROM taken
        GROUP BY url_id HAVING sum(clicks) > 0 ORDER BY url_id
        ON CONFLICT (url_id) DO UPDATE
            SET clicks = c.clicks + EXCLUDED.clicks,
                retained = c.retained + EXCLUDED.retained,
                last_click_at = GREATEST(c.last_click_at, EXCLUDED.last_click_at)
        RETURNING 1),
    days AS (
        INSERT INTO link_daily_clicks AS c (url_id, day, clicks, humans, bots, previews, visitors)
        SELECT url_id, day, sum(clicks), sum(humans), sum(bots), sum(previews), sum(visitors)
        FROM taken GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, day) DO UPDATE
            SET clicks = c.clicks + EXCLUDED.clicks,
                humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                visitors = c.visitors + EXCLUDED.visitors
        RETURNING 1),
    dimensions AS (
        INSERT INTO link_dimension_clicks AS c (url_id, dimension, day, key, humans, bots,
                                                previews, visitors)
        SELECT url_id, dimension, day, key, sum(humans), sum(bots), sum(previews),
               sum(visitors)
        FROM (SELECT d.url_id, k.dimension, (d.hour AT TIME ZONE 'UTC')::date AS day, k.key,
                     d.humans, d.bots, d.previews, d.visitors
              FROM taken_dimensions d,
                   click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                        d.referrer_host) k) d
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (url_id, dimension, day, key) DO UPDATE
            SET humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                visitors = c.visitors + EXCLUDED.visitors
        RETURNING 1),
    hours AS (
        INSERT INTO link_hourly_clicks AS c (url_id, hour, humans, bots, previews, visitors)
        SELECT url_id, hour, sum(humans), sum(bots), sum(previews), sum(visitors)
        FROM taken_dimensions GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, hour) DO UPDATE
            SET humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                visitors = c.visitors + EXCLUDED.visitors
        RETURNING 1),
    referrers AS (
        INSERT INTO link_referrer_hosts AS c (url_id, host, clicks)
        SELECT url_id, referrer_host, sum(clicks) FROM taken WHERE clicks > 0
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, host) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks
        RETURNING 1),
    lists AS (
        INSERT INTO list_counts AS c (list, filter, shard, n)
        SELECT 'clicks', k, list_count_shard(), sum(r.n)
        FROM (SELECT user_id, sum(clicks)::bigint AS n FROM taken GROUP BY user_id) r,
             click_count_keys(r.user_id) k
        GROUP BY k HAVING sum(r.n) <> 0 ORDER BY k
        ON CONFLICT (list, filter, shard) DO UPDATE SET n = c.n + EXCLUDED.n
        RETURNING 1),
    pruned AS (
        DELETE FROM link_day_visitors
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM link_day_visitors
                                WHERE day < (now() AT TIME ZONE 'UTC')::date - 2
                                LIMIT max_rows))
        RETURNING 1)
    SELECT GREATEST(count(*), (SELECT count(*) FROM taken_dimensions)),
           coalesce(sum(clicks), 0)::bigint
    FROM taken
$$;

-- As in migration 20261207000004, with the referrer's host.
CREATE OR REPLACE FUNCTION count_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO click_deltas (url_id, user_id, day, referrer_host, clicks, last_click_at)
            SELECT url_id, user_id, (timestamp AT TIME ZONE 'UTC')::date,
                   referrer_host_of(details->>'referrer'), count(*), max(timestamp)
            FROM new_rows WHERE event_type = 'click' GROUP BY 1, 2, 3, 4;
        END IF;
        SELECT array_agg(k), array_agg(n) INTO keys, deltas
        FROM (SELECT url_id, user_id, event_type, count(*) AS n FROM new_rows
              WHERE event_type <> 'click' GROUP BY 1, 2, 3) r,
             event_count_keys(r.url_id, r.user_id, r.event_type) k;
        PERFORM add_list_counts('events', keys, deltas);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
            SELECT url_id, 0, -count(*), max(timestamp) FROM old_rows
            WHERE event_type = 'click' GROUP BY url_id ORDER BY url_id
            ON CONFLICT (url_id) DO UPDATE SET retained = c.retained + EXCLUDED.retained;
            SELECT array_agg(k), array_agg(-r.n) INTO keys, deltas
            FROM (SELECT user_id, count(*) AS n FROM old_rows
                  WHERE event_type = 'click' GROUP BY user_id) r,
                 click_count_keys(r.user_id) k;
            PERFORM add_list_counts('clicks', keys, deltas);
        END IF;
        SELECT array_agg(k), array_agg(-r.n) INTO keys, deltas
        FROM (SELECT url_id, user_id, event_type, count(*) AS n FROM old_rows
              WHERE event_type <> 'click' GROUP BY 1, 2, 3) r,
             event_count_keys(r.url_id, r.user_id, r.event_type) k;
        PERFORM add_list_counts('events', keys, deltas);
    END IF;
    RETURN NULL;
END
$$;

-- As in migration 20261207000005, with the referrer hosts.
CREATE OR REPLACE FUNCTION remove_link_clicks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    WITH gone AS (DELETE FROM click_deltas WHERE url_id = OLD.id RETURNING user_id, clicks)
    SELECT array_agg(k), array_agg(r.n) INTO keys, deltas
    FROM (SELECT user_id, sum(clicks)::bigint AS n FROM gone GROUP BY user_id) r,
         click_count_keys(r.user_id) k;
    PERFORM add_list_counts('clicks', keys, deltas);
    DELETE FROM dimension_deltas WHERE url_id = OLD.id;
    DELETE FROM events WHERE url_id = OLD.id AND event_type = 'click';
    DELETE FROM link_clicks WHERE url_id = OLD.id;
    DELETE FROM link_daily_clicks WHERE url_id = OLD.id;
    DELETE FROM link_referrer_hosts WHERE url_id = OLD.id;
    DELETE FROM link_dimension_clicks WHERE url_id = OLD.id;
    DELETE FROM link_hourly_clicks WHERE url_id = OLD.id;
    RETURN OLD;
END
$$;
