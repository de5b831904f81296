-- Stats across links (issue 23, `GET /stats`): an owner's links together, and every
-- link. Summing the links' rollups at read time would cost one row per link, day and
-- key (a million links for a key without owner), so the fold keeps the same rollups per
-- scope too, from the same deltas in the same transaction:
--
--  * a scope is 0 (every link) or a user's id (that user's links, deleted ones
--    included: their clicks happened); a link without owner counts in scope 0 only
--    (`click_scopes`). A link's owner never changes, so its clicks never move;
--  * `scope_daily_clicks`, `scope_dimension_clicks`, `scope_hourly_clicks`: as the
--    link rollups, per scope. `visitors` sums the links' visitors: a person who opens
--    two links of a scope on one day counts on each (a visitor id is per link by
--    design: it cannot follow a person across links);
--  * `dimension_deltas` names each delta's owner (`user_id`), so the fold needs no join;
--  * the rollups of clicks already folded are summed into the scopes here (one statement
--    each: at ten million clicks, some minutes);
--  * a link removed by hand (`DELETE FROM urls`) keeps its clicks in its scopes, as the
--    list of all clicks ever recorded does; the erasure folds the erased user's referrer
--    hosts out of its scope and of scope 0 (`shortener_store::breakdowns`).

CREATE FUNCTION click_scopes(user_id BIGINT) RETURNS SETOF BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 0::bigint UNION ALL SELECT user_id WHERE user_id IS NOT NULL
$$;

ALTER TABLE dimension_deltas ADD COLUMN user_id BIGINT;
UPDATE dimension_deltas d SET user_id = u.user_id FROM urls u WHERE u.id = d.url_id;

CREATE TABLE scope_daily_clicks (
    scope BIGINT NOT NULL,
    day DATE NOT NULL,
    clicks BIGINT NOT NULL DEFAULT 0,
    humans BIGINT NOT NULL DEFAULT 0,
    bots BIGINT NOT NULL DEFAULT 0,
    previews BIGINT NOT NULL DEFAULT 0,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, day)
);

CREATE TABLE scope_dimension_clicks (
    scope BIGINT NOT NULL,
    dimension "char" NOT NULL,
    day DATE NOT NULL,
    key TEXT NOT NULL,
    humans BIGINT NOT NULL DEFAULT 0,
    bots BIGINT NOT NULL DEFAULT 0,
    previews BIGINT NOT NULL DEFAULT 0,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, dimension, day, key)
);

CREATE TABLE scope_hourly_clicks (
    scope BIGINT NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    humans BIGINT NOT NULL DEFAULT 0,
    bots BIGINT NOT NULL DEFAULT 0,
    previews BIGINT NOT NULL DEFAULT 0,
    visitors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, hour)
);

-- The `link` dimension of a scope ranks its links by their days in the range.
CREATE INDEX link_daily_clicks_day_idx ON link_daily_clicks (day, url_id);

INSERT INTO scope_daily_clicks (scope, day, clicks, humans, bots, previews, visitors)
SELECT s.scope, d.day, sum(d.clicks), sum(d.humans), sum(d.bots), sum(d.previews),
       sum(d.visitors)
FROM link_daily_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2;

INSERT INTO scope_dimension_clicks (scope, dimension, day, key, humans, bots, previews, visitors)
SELECT s.scope, d.dimension, d.day, d.key, sum(d.humans), sum(d.bots), sum(d.previews),
       sum(d.visitors)
FROM link_dimension_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2, 3, 4;

INSERT INTO scope_hourly_clicks (scope, hour, humans, bots, previews, visitors)
SELECT s.scope, d.hour, sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
FROM link_hourly_clicks d JOIN urls u ON u.id = d.url_id, click_scopes(u.user_id) AS s(scope)
GROUP BY 1, 2;

-- What is pending, added to what is folded, per scope.
CREATE VIEW scope_daily_clicks_now AS
SELECT scope, day, sum(clicks)::bigint AS clicks, sum(humans)::bigint AS humans,
       sum(bots)::bigint AS bots, sum(previews)::bigint AS previews,
       sum(visitors)::bigint AS visitors
FROM (SELECT scope, day, clicks, humans, bots, previews, visitors FROM scope_daily_clicks
      UNION ALL
      SELECT s.scope, d.day, d.clicks, d.humans, d.bots, d.previews, d.visitors
      FROM click_deltas d, click_scopes(d.user_id) AS s(scope)) t
GROUP BY scope, day;

CREATE VIEW scope_dimension_clicks_now AS
SELECT scope, dimension, day, key, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT scope, dimension, day, key, humans, bots, previews, visitors
      FROM scope_dimension_clicks
      UNION ALL
      SELECT s.scope, k.dimension, (d.hour AT TIME ZONE 'UTC')::date, k.key,
             d.humans, d.bots, d.previews, d.visitors
      FROM dimension_deltas d, click_scopes(d.user_id) AS s(scope),
           click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                d.referrer_host) k) t
GROUP BY scope, dimension, day, key;

CREATE VIEW scope_hourly_clicks_now AS
SELECT scope, hour, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT scope, hour, humans, bots, previews, visitors FROM scope_hourly_clicks
      UNION ALL
      SELECT s.scope, d.hour, d.humans, d.bots, d.previews, d.visitors
      FROM dimension_deltas d, click_scopes(d.user_id) AS s(scope)) t
GROUP BY scope, hour;

-- As in migration 20261207000008, and the scopes' rollups.
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
    scope_days AS (
        INSERT INTO scope_daily_clicks AS c (scope, day, clicks, humans, bots, previews,
                                             visitors)
        SELECT s.scope, t.day, sum(t.clicks), sum(t.humans), sum(t.bots), sum(t.previews),
               sum(t.visitors)
        FROM taken t, click_scopes(t.user_id) AS s(scope) GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (scope, day) DO UPDATE
            SET clicks = c.clicks + EXCLUDED.clicks,
                humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                visitors = c.visitors + EXCLUDED.visitors
        RETURNING 1),
    scope_dimensions AS (
        INSERT INTO scope_dimension_clicks AS c (scope, dimension, day, key, humans, bots,
                                                 previews, visitors)
        SELECT s.scope, k.dimension, (d.hour AT TIME ZONE 'UTC')::date, k.key,
               sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
        FROM taken_dimensions d, click_scopes(d.user_id) AS s(scope),
             click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                  d.referrer_host) k
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (scope, dimension, day, key) DO UPDATE
            SET humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                visitors = c.visitors + EXCLUDED.visitors
        RETURNING 1),
    scope_hours AS (
        INSERT INTO scope_hourly_clicks AS c (scope, hour, humans, bots, previews, visitors)
        SELECT s.scope, d.hour, sum(d.humans), sum(d.bots), sum(d.previews), sum(d.visitors)
        FROM taken_dimensions d, click_scopes(d.user_id) AS s(scope) GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (scope, hour) DO UPDATE
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

