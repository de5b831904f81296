-- Targeting rules and splits (issue 24): per link, ordered rules (`[{"if": {..}, "url"}]`)
-- and a weighted split (`[{"url", "weight"}]`), both checked by the service
-- (`shortener_domain::targeting`) and carried by the redirect cache, so the version
-- trigger watches them and the `redirect_targets` view reads them. NULL: none.
--
-- Which rule or variant answered a visit (`target`, `rules.N` or `variants.N`) is kept
-- with its click: in the click event's details and as the `variant` dimension ('v') of
-- the dimension rollups. A click of a link with neither has no variant and adds no 'v'
-- row, so plain links' clicks cost the rollups nothing more. The variants are each link's
-- own (`rules.0` of one link has nothing to do with another's): the scopes' rollups
-- across links leave them out.
ALTER TABLE urls
    ADD COLUMN rules JSONB CHECK (jsonb_typeof(rules) = 'array'),
    ADD COLUMN variants JSONB CHECK (jsonb_typeof(variants) = 'array');

DROP TRIGGER urls_bump_version ON urls;
CREATE TRIGGER urls_bump_version
    BEFORE UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.id              IS DISTINCT FROM NEW.id
       OR OLD.original_url    IS DISTINCT FROM NEW.original_url
       OR OLD.is_active       IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at      IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at      IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code      IS DISTINCT FROM NEW.short_code
       OR OLD.max_visits      IS DISTINCT FROM NEW.max_visits
       OR OLD.expired_url     IS DISTINCT FROM NEW.expired_url
       OR OLD.redirect_status IS DISTINCT FROM NEW.redirect_status
       OR OLD.forward_query   IS DISTINCT FROM NEW.forward_query
       OR OLD.preview         IS DISTINCT FROM NEW.preview
       OR OLD.password_hash   IS DISTINCT FROM NEW.password_hash
       OR OLD.rules           IS DISTINCT FROM NEW.rules
       OR OLD.variants        IS DISTINCT FROM NEW.variants)
    EXECUTE FUNCTION bump_link_version();

CREATE OR REPLACE VIEW redirect_targets AS
SELECT u.id AS url_id, u.short_code, u.original_url, u.is_active, u.expires_at, u.version,
       u.deleted_at IS NOT NULL AS deleted,
       u.max_visits, u.expired_url, u.redirect_status, u.forward_query,
       u.max_visits IS NOT NULL AND coalesce(v.used, 0) >= u.max_visits AS visits_used_up,
       u.preview, u.password_hash IS NOT NULL AS protected, u.rules, u.variants
FROM urls u LEFT JOIN link_visits v ON v.url_id = u.id;

ALTER TABLE dimension_deltas ADD COLUMN variant TEXT NOT NULL DEFAULT '';

-- The (dimension, key) pairs of one click's dimensions: the six of every click, and the
-- variant ('v') of a targeted link's.
CREATE FUNCTION click_dimension_keys(country TEXT, browser TEXT, os TEXT, device TEXT,
                                     language TEXT, referrer_host TEXT, variant TEXT,
                                     OUT dimension "char", OUT key TEXT)
RETURNS SETOF record LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('c'::"char", country), ('b', browser), ('o', os), ('d', device),
           ('l', language), ('r', referrer_host)
    UNION ALL
    SELECT 'v'::"char", variant WHERE variant <> ''
$$;

CREATE OR REPLACE VIEW link_dimension_clicks_now AS
SELECT url_id, dimension, day, key, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT url_id, dimension, day, key, humans, bots, previews, visitors
      FROM link_dimension_clicks
      UNION ALL
      SELECT d.url_id, k.dimension, (d.hour AT TIME ZONE 'UTC')::date, k.key,
             d.humans, d.bots, d.previews, d.visitors
      FROM dimension_deltas d,
           click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                d.referrer_host, d.variant) k) t
GROUP BY url_id, dimension, day, key;

CREATE OR REPLACE VIEW scope_dimension_clicks_now AS
SELECT scope, dimension, day, key, sum(humans)::bigint AS humans, sum(bots)::bigint AS bots,
       sum(previews)::bigint AS previews, sum(visitors)::bigint AS visitors
FROM (SELECT scope, dimension, day, key, humans, bots, previews, visitors
      FROM scope_dimension_clicks
      UNION ALL
      SELECT s.scope, k.dimension, (d.hour AT TIME ZONE 'UTC')::date, k.key,
             d.humans, d.bots, d.previews, d.visitors
      FROM dimension_deltas d, click_scopes(d.user_id) AS s(scope),
           click_dimension_keys(d.country, d.browser, d.os, d.device, d.language,
                                d.referrer_host, '') k) t
GROUP BY scope, dimension, day, key;

-- As in migration 20261207000010, with the variant dimension.
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
                                        d.referrer_host, d.variant) k) d
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
                                  d.referrer_host, '') k
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


DROP FUNCTION click_dimension_keys(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
