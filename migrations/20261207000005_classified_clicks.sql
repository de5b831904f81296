-- Classified clicks (docs/api.md, "Traffic classes and visitors"): the click writer now
-- knows each click's class (human, bot, preview), its browser, OS, device, language,
-- referrer host and country, and the day's visitor id; a HEAD request enters the pipeline
-- as a preview that is counted but stored as no event.
--
--  * a pending delta also counts its clicks by class; `clicks` stays the number of click
--    events (a HEAD adds a preview and no click, and no last click);
--  * the daily rollup keeps the classes and the day's unique human visitors;
--  * `dimension_deltas` holds each batch's clicks by link, hour and the six dimensions
--    (one row per distinct combination, the classes as columns); the fold spreads each
--    row over `link_dimension_clicks` (per link, dimension, day and key) and
--    `link_hourly_clicks`, so a stats read by any dimension sums a few rows per day;
--  * `link_day_visitors` holds the human visitor ids (a keyed hash, never an address)
--    each link has seen each day: the writer inserts its batch's ids there, and those it
--    inserted (new that day) are counted in its deltas, in the rows of their first click
--    (`visitors`), so a visitor counts once per link and day however many replicas and
--    batches saw it. A visitor id is only ever met again on its own UTC day, so the ids
--    of a day are dropped two days after it (a spill replayed later than that may count
--    a visitor of that day twice);
--  * clicks recorded before this migration have no class: they count in `clicks` and in
--    no class or dimension.

ALTER TABLE click_deltas
    ADD COLUMN humans INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN bots INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN previews INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN visitors INTEGER NOT NULL DEFAULT 0,
    ALTER COLUMN last_click_at DROP NOT NULL;

ALTER TABLE link_daily_clicks
    ADD COLUMN humans BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN bots BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN previews BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN visitors BIGINT NOT NULL DEFAULT 0;

CREATE TABLE dimension_deltas (
    url_id BIGINT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    country TEXT NOT NULL,
    browser TEXT NOT NULL,
    os TEXT NOT NULL,
    device TEXT NOT NULL,
    language TEXT NOT NULL,
    referrer_host TEXT NOT NULL,
    humans INTEGER NOT NULL,
    bots INTEGER NOT NULL,
    previews INTEGER NOT NULL,
    visitors INTEGER NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 50000);
CREATE INDEX dimension_deltas_url_id_idx ON dimension_deltas (url_id);

-- Day first: the fold drops whole old days by a range of the key.
CREATE TABLE link_day_visitors (
    day DATE NOT NULL,
    url_id BIGINT NOT NULL,
    visitor BIGINT NOT NULL,
    PRIMARY KEY (day, url_id, visitor)
);

-- One row per link, dimension, day and key ('' when unknown). The dimensions, one letter
-- each: c country, b browser, o os, d device, l language, r referrer host.
CREATE TABLE link_dimension_clicks (
    url_id BIGINT NOT NULL,
    dimension "char" NOT NULL,
    day DATE NOT NULL,
    key TEXT NOT NULL,
    humans BIGINT NOT NULL DEFAULT 0,
    bots BIGINT NOT NULL DEFAULT 0,
    previews BIGINT NOT NULL DEFAULT 0,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (url_id, dimension, day, key)
);

CREATE TABLE link_hourly_clicks (
    url_id BIGINT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    humans BIGINT NOT NULL DEFAULT 0,
    bots BIGINT NOT NULL DEFAULT 0,
    previews BIGINT NOT NULL DEFAULT 0,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (url_id, hour)
);

-- The six (dimension, key) pairs of one click's dimensions.
CREATE FUNCTION click_dimension_keys(country TEXT, browser TEXT, os TEXT, device TEXT,
                                     language TEXT, referrer_host TEXT,
                                     OUT dimension "char", OUT key TEXT)
RETURNS SETOF record LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('c'::"char", country), ('b', browser), ('o', os), ('d', device),
           ('l', language), ('r', referrer_host)
$$;

-- A HEAD's delta has no click: it names no referrer.
CREATE OR REPLACE VIEW link_referrers_now AS
SELECT url_id, referrer, sum(clicks)::bigint AS clicks
FROM (SELECT url_id, referrer, clicks FROM link_referrers
      UNION ALL
      SELECT url_id, referrer, clicks FROM click_deltas WHERE clicks > 0) t
GROUP BY url_id, referrer;

-- The days with their classes and unique visitors.
CREATE OR REPLACE VIEW link_daily_clicks_now AS
SELECT url_id, day, sum(clicks)::bigint AS clicks, sum(humans)::bigint AS humans,
       sum(bots)::bigint AS bots, sum(previews)::bigint AS previews,
       sum(visitors)::bigint AS visitors
FROM (SELECT url_id, day, clicks, humans, bots, previews, visitors FROM link_daily_clicks
      UNION ALL
      SELECT url_id, day, clicks, humans, bots, previews, visitors FROM click_deltas) t
GROUP BY url_id, day;

CREATE VIEW link_dimension_clicks_now AS
SELECT url_id, dimension, day, key, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT url_id, dimension, day, key, humans, bots, previews, visitors
      FROM link_dimension_clicks
      UNION ALL
      SELECT d.url_id, k.dimension, (d.hour AT TIME ZONE 'UTC')::date, k.key,
             d.humans, d.bots, d.previews, d.visitors
      FROM dimension_deltas d,
           click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                d.referrer_host) k) t
GROUP BY url_id, dimension, day, key;

CREATE VIEW link_hourly_clicks_now AS
SELECT url_id, hour, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT url_id, hour, humans, bots, previews, visitors FROM link_hourly_clicks
      UNION ALL
      SELECT url_id, hour, humans, bots, previews, visitors FROM dimension_deltas) t
GROUP BY url_id, hour;

-- As before, plus the classes, the visitors, the dimensions and the hours, and the
-- pruning of old days' visitor ids, in the same transaction. `rows`: the most rows taken
-- from one of the two delta tables, so a caller folding until less than `max_rows` is
-- taken empties both.
CREATE OR REPLACE FUNCTION fold_click_deltas(max_rows INTEGER, OUT rows BIGINT, OUT clicks BIGINT)
LANGUAGE sql AS $$
    WITH taken AS (
        DELETE FROM click_deltas
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM click_deltas LIMIT max_rows))
        RETURNING url_id, user_id, day, referrer, clicks, humans, bots, previews, visitors,
                  last_click_at),
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
        INSERT INTO link_referrers AS c (url_id, referrer, clicks)
        SELECT url_id, referrer, sum(clicks) FROM taken WHERE clicks > 0
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, referrer) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks
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

-- Clicks inserted through `events` (the seed import, tests) have no class: as before.
-- A link removed by hand takes its pending dimensions, and its dimension and hour
-- rollups, too (its ids of the last days stay in `link_day_visitors` until
-- pruned: they name no link that can come back).
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
    DELETE FROM link_referrers WHERE url_id = OLD.id;
    DELETE FROM link_dimension_clicks WHERE url_id = OLD.id;
    DELETE FROM link_hourly_clicks WHERE url_id = OLD.id;
    RETURN OLD;
END
$$;
