-- Destination health and batched click events (issue 25).
--
-- Destination health: `link_health` holds one row per link the checker watches: the
-- links clicked in the last HEALTH_CHECK_ACTIVE_DAYS, enrolled once a period by
-- whichever replica's checker takes the turn. A replica claims due rows with FOR UPDATE SKIP LOCKED,
-- moving `next_check_at` past the check's timeout (its lease, and the token its result
-- is recorded against), so each link is checked by one replica per interval. A link is
-- `down` after HEALTH_CHECK_DOWN_AFTER failed checks in a row and `up` again after one
-- that succeeds. `urls.destination_down` is what the redirect reads: the version trigger
-- watches it, so a flip reaches every replica's cache as an edit does, and while it is
-- set a link with an `expired_url` sends its visitors there.
--
-- Batched clicks: the fold adds each folded click of a link whose owner (or an admin)
-- subscribes to `link.clicked` to the link's row in `webhook_click_tallies`; a row a
-- minute old is turned into one `link.clicked` delivery and removed in one statement.
-- So a link gets at most one such event a minute, and each click is in exactly one.

ALTER TABLE urls ADD COLUMN destination_down BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE link_health (
    url_id        BIGINT      PRIMARY KEY REFERENCES urls (id) ON DELETE CASCADE,
    status        TEXT        NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('unknown', 'up', 'down')),
    -- Failed checks in a row (0 after one that succeeds).
    failures      INTEGER     NOT NULL DEFAULT 0,
    -- The last check: when, the answer's status code (NULL: no answer), and why it
    -- failed (NULL: it succeeded).
    checked_at    TIMESTAMPTZ,
    status_code   INTEGER,
    error         TEXT,
    -- Since when it is down (NULL while it is not).
    down_since    TIMESTAMPTZ,
    -- When it is due; while a replica checks it, when that claim lapses.
    next_check_at TIMESTAMPTZ NOT NULL DEFAULT now()
-- Every check updates its row and the indexed next_check_at (no HOT update): vacuumed
-- often, so the dead entries at the due end of the index the claims read stay few.
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

CREATE INDEX link_health_due ON link_health (next_check_at);
CREATE INDEX link_health_down ON link_health (url_id) WHERE status = 'down';

-- When the active links were last enrolled: one replica's turn per period, taken by
-- moving this one row (the others find it moved and skip the scan).
CREATE TABLE link_health_enrolment (
    only_row BOOLEAN     PRIMARY KEY DEFAULT true CHECK (only_row),
    last_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO link_health_enrolment (last_at) VALUES ('-infinity');

-- A new destination is a new question: its health starts again, and it is checked at
-- once (which also voids a claim on the old one: its result is recorded against the
-- old next_check_at).
CREATE FUNCTION reset_destination_health() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.destination_down := false;
    UPDATE link_health
    SET status = 'unknown', failures = 0, checked_at = NULL, status_code = NULL,
        error = NULL, down_since = NULL, next_check_at = now()
    WHERE url_id = NEW.id;
    RETURN NEW;
END
$$;

CREATE TRIGGER urls_reset_destination_health
    BEFORE UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.original_url IS DISTINCT FROM NEW.original_url)
    EXECUTE FUNCTION reset_destination_health();

DROP TRIGGER urls_bump_version ON urls;
CREATE TRIGGER urls_bump_version
    BEFORE UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.id               IS DISTINCT FROM NEW.id
       OR OLD.original_url     IS DISTINCT FROM NEW.original_url
       OR OLD.is_active        IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at       IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at       IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code       IS DISTINCT FROM NEW.short_code
       OR OLD.max_visits       IS DISTINCT FROM NEW.max_visits
       OR OLD.expired_url      IS DISTINCT FROM NEW.expired_url
       OR OLD.redirect_status  IS DISTINCT FROM NEW.redirect_status
       OR OLD.forward_query    IS DISTINCT FROM NEW.forward_query
       OR OLD.preview          IS DISTINCT FROM NEW.preview
       OR OLD.password_hash    IS DISTINCT FROM NEW.password_hash
       OR OLD.rules            IS DISTINCT FROM NEW.rules
       OR OLD.variants         IS DISTINCT FROM NEW.variants
       OR OLD.destination_down IS DISTINCT FROM NEW.destination_down)
    EXECUTE FUNCTION bump_link_version();

CREATE OR REPLACE VIEW redirect_targets AS
SELECT u.id AS url_id, u.short_code, u.original_url, u.is_active, u.expires_at, u.version,
       u.deleted_at IS NOT NULL AS deleted,
       u.max_visits, u.expired_url, u.redirect_status, u.forward_query,
       u.max_visits IS NOT NULL AND coalesce(v.used, 0) >= u.max_visits AS visits_used_up,
       u.preview, u.password_hash IS NOT NULL AS protected, u.rules, u.variants,
       u.destination_down
FROM urls u LEFT JOIN link_visits v ON v.url_id = u.id;

-- A link's `destination` as the API and the payloads show it.
CREATE FUNCTION destination_health_json(h link_health) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'status', coalesce(h.status, 'unknown'),
        'checked_at', to_char(h.checked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'status_code', h.status_code,
        'error', h.error,
        'failures', coalesce(h.failures, 0),
        'down_since', to_char(h.down_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'))
$$;

-- The body of a link's event, as in migration 20261207000015, with `extra`'s keys added
-- to `data` beside the link (a destination's health, a batch of clicks).
CREATE FUNCTION webhook_link_payload(u urls, p_event text, p_changes jsonb, p_extra jsonb)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'type', p_event,
        'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
        'data', jsonb_build_object(
            'link', jsonb_build_object(
                'id', u.id,
                'short_code', u.short_code,
                'original_url', u.original_url,
                'user_id', u.user_id,
                'title', u.title,
                'is_active', u.is_active,
                'expires_at', to_char(u.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
                'max_visits', u.max_visits,
                'expired_url', u.expired_url,
                'tags', to_jsonb(u.tags),
                'version', u.version))
            || CASE WHEN p_changes IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('changes', p_changes) END
            || coalesce(p_extra, '{}'::jsonb)
    )::text
$$;

-- As the three-argument one (migration 20261207000015), with `extra` in the payload.
CREATE FUNCTION enqueue_link_event(p_url_id bigint, p_event text, p_changes jsonb,
                                   p_extra jsonb) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    queued bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks w
                   WHERE w.deleted_at IS NULL AND w.enabled AND p_event = ANY (w.events)) THEN
        RETURN 0;
    END IF;
    WITH q AS (
        INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, payload)
        SELECT w.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), p_event,
               webhook_link_payload(u, p_event, p_changes, p_extra)
        FROM urls u
        JOIN webhooks w ON w.user_id IS NULL OR w.user_id = u.user_id
        WHERE u.id = p_url_id AND w.deleted_at IS NULL AND w.enabled
          AND p_event = ANY (w.events)
        RETURNING 1)
    SELECT count(*) INTO queued FROM q;
    RETURN queued;
END
$$;

-- The clicks of a link not yet sent in a `link.clicked` event: since `first_at`, the
-- fold adds to them; a minute after it the row becomes one event.
CREATE TABLE webhook_click_tallies (
    url_id   BIGINT      PRIMARY KEY,
    humans   BIGINT      NOT NULL,
    bots     BIGINT      NOT NULL,
    previews BIGINT      NOT NULL,
    first_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_click_tallies_first_at ON webhook_click_tallies (first_at);

-- Whether any live subscription wants `link.clicked`: the fold's one look when none does.
CREATE FUNCTION clicked_subscriptions_exist() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhooks w
                   WHERE w.deleted_at IS NULL AND w.enabled AND 'link.clicked' = ANY (w.events))
$$;

-- As in migration 20261207000014, and the clicks of links whose owner (or an admin)
-- subscribes to `link.clicked` added to their tallies, in the fold's transaction: each
-- click is tallied once, as it is folded once. With no such subscription the tally's
-- one look at the subscriptions is all it costs.
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
    clicked AS (
        INSERT INTO webhook_click_tallies AS c (url_id, humans, bots, previews)
        SELECT t.url_id, sum(t.humans), sum(t.bots), sum(t.previews)
        FROM taken t
        WHERE (SELECT clicked_subscriptions_exist())
          AND EXISTS (SELECT 1 FROM webhooks w
                      WHERE w.deleted_at IS NULL AND w.enabled
                        AND 'link.clicked' = ANY (w.events)
                        AND (w.user_id IS NULL OR w.user_id = t.user_id))
        GROUP BY t.url_id HAVING sum(t.humans + t.bots + t.previews) > 0
        ORDER BY t.url_id
        ON CONFLICT (url_id) DO UPDATE
            SET humans = c.humans + EXCLUDED.humans,
                bots = c.bots + EXCLUDED.bots,
                previews = c.previews + EXCLUDED.previews,
                last_at = now()
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
