-- The `link` dimension across links (`GET /stats/link`) without a scan of every link's
-- days: ranking a million links over a range read each link's days in it (2 s and more
-- at a million links, `scripts/bench-scale`). The fold keeps, per scope and day, the
-- links among the day's 100 first by human, bot, preview or all clicks
-- (`scope_top_links`, their totals of that day, the values its `days` step returns):
--
--  * a day's totals only grow, and the fold is serial (its advisory lock), so merging a
--    batch's new totals with the day's listed links and keeping each class's 100 first
--    keeps exactly the day's 100 first of each class; a link removed by hand leaves its
--    days one short until another link of the scope overtakes it that day;
--  * a read ranks the links listed on the range's days (and what is pending) by those
--    days, then reads the first candidates' exact figures from their own rollups
--    (`shortener_store::scope_stats::top_links`): a link never among a day's 100 first
--    of its scope is not ranked; docs/api.md says so, and `limit` is at most 100 there;
--  * rows per scope and day: at most 400, one per link listed by any class.

CREATE TABLE scope_top_links (
    scope BIGINT NOT NULL,
    day DATE NOT NULL,
    url_id BIGINT NOT NULL,
    humans BIGINT NOT NULL,
    bots BIGINT NOT NULL,
    previews BIGINT NOT NULL,
    PRIMARY KEY (scope, day, url_id)
) WITH (fillfactor = 80);

-- A link removed by hand takes its rows.
CREATE INDEX scope_top_links_url_idx ON scope_top_links (url_id);

-- Every scope day's list made again from the links' days: here, and after links are
-- removed by hand (`SELECT relist_scope_top_links()`; about 80 s at ten million clicks),
-- between two folds (their advisory lock).
CREATE FUNCTION relist_scope_top_links() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('shortener.click_fold'));
    TRUNCATE scope_top_links;
    INSERT INTO scope_top_links (scope, day, url_id, humans, bots, previews)
    SELECT scope, day, url_id, humans, bots, previews
    FROM (SELECT s.scope, d.day, d.url_id, d.humans, d.bots, d.previews,
                 d.humans > 0 AND row_number() OVER (PARTITION BY s.scope, d.day
                                                     ORDER BY d.humans DESC, d.url_id) <= 100
              OR d.bots > 0 AND row_number() OVER (PARTITION BY s.scope, d.day
                                                   ORDER BY d.bots DESC, d.url_id) <= 100
              OR d.previews > 0 AND row_number() OVER (PARTITION BY s.scope, d.day
                                                       ORDER BY d.previews DESC, d.url_id) <= 100
              OR row_number() OVER (PARTITION BY s.scope, d.day
                                    ORDER BY d.humans + d.bots + d.previews DESC, d.url_id) <= 100
                 AS kept
          FROM link_daily_clicks d JOIN urls u ON u.id = d.url_id,
               click_scopes(u.user_id) AS s(scope)
          WHERE d.humans + d.bots + d.previews > 0) ranked
    WHERE kept;
$$;

SELECT relist_scope_top_links();

-- As in migration 20261207000008, and the listed links of each scope day.
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
    DELETE FROM scope_top_links WHERE url_id = OLD.id;
    RETURN OLD;
END
$$;

-- As in migration 20261207000009, and the scopes' listed links.
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
        RETURNING c.url_id, c.day, c.humans, c.bots, c.previews),
    -- Each folded link day, with its new totals, in each of its scopes, merged with the
    -- listed links of those scope days: a link stays listed while it is among the day's
    -- 100 first by any class.
    top_candidates AS (
        SELECT s.scope, d.day, d.url_id, d.humans, d.bots, d.previews
        FROM days d
        JOIN (SELECT DISTINCT url_id, user_id FROM taken) o ON o.url_id = d.url_id,
             click_scopes(o.user_id) AS s(scope)),
    top_merged AS (
        SELECT scope, day, url_id, coalesce(n.humans, t.humans) AS humans,
               coalesce(n.bots, t.bots) AS bots, coalesce(n.previews, t.previews) AS previews,
               t.url_id IS NOT NULL AS listed, n.url_id IS NOT NULL AS changed
        FROM (SELECT t.* FROM scope_top_links t
              WHERE (t.scope, t.day) IN (SELECT scope, day FROM top_candidates)) t
        FULL JOIN top_candidates n USING (scope, day, url_id)),
    top_ranked AS (
        SELECT scope, day, url_id, humans, bots, previews, listed, changed,
               (humans > 0 AND row_number() OVER (PARTITION BY scope, day
                                                  ORDER BY humans DESC, url_id) <= 100)
            OR (bots > 0 AND row_number() OVER (PARTITION BY scope, day
                                                ORDER BY bots DESC, url_id) <= 100)
            OR (previews > 0 AND row_number() OVER (PARTITION BY scope, day
                                                    ORDER BY previews DESC, url_id) <= 100)
            OR row_number() OVER (PARTITION BY scope, day
                                  ORDER BY humans + bots + previews DESC, url_id) <= 100
               AS kept
        FROM top_merged),
    top_out AS (
        DELETE FROM scope_top_links t USING top_ranked r
        WHERE r.listed AND NOT r.kept
          AND (t.scope, t.day, t.url_id) = (r.scope, r.day, r.url_id)
        RETURNING 1),
    top_in AS (
        INSERT INTO scope_top_links AS c (scope, day, url_id, humans, bots, previews)
        SELECT scope, day, url_id, humans, bots, previews FROM top_ranked
        WHERE changed AND kept AND humans + bots + previews > 0 ORDER BY 1, 2, 3
        ON CONFLICT (scope, day, url_id) DO UPDATE
            SET humans = EXCLUDED.humans, bots = EXCLUDED.bots, previews = EXCLUDED.previews
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

