-- A click path whose cost does not depend on how clicks are spread over links
-- (docs/decisions.md, "Clicks over many links cost what clicks on one do").
--
-- Before, each batch of clicks cost, per distinct link: a foreign-key check per click on
-- urls and one on users, its counter, day and referrer rows, and four list-total keys in
-- list_counts (the link, the link and type, the link and user, all three), each in the
-- writer's shard. A batch over 1,000 links cost about 100 us of Postgres time per click,
-- one over 2 links about 23 us (pgbench over the writer's statement, 2026-12-06).
--
-- Now:
--  * click events carry no foreign keys (the writer inserts only clicks of links it joins in
--    the same statement; the audit trail keeps its keys, on its own partition, and a link
--    removed by hand takes its clicks with it);
--  * the list totals of clicks come from the rollups: per link, `link_clicks.retained` (the
--    raw click events still stored); per user and in all, the list 'clicks' of list_counts
--    (one key per user, one for all). The list 'events' counts the rest of the trail.
--    A click is attributed to its link's owner (the writer does so; POST /events refuses
--    the type; the seed import refuses a click row naming another user), so the clicks of
--    a link by a user are the link's or none.

------------------------------------------------------------------------------------------
-- Foreign keys: the audit trail's, not the clicks'.

ALTER TABLE events DROP CONSTRAINT events_url_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_user_id_fkey;
ALTER TABLE events_audit
    ADD CONSTRAINT events_audit_url_id_fkey FOREIGN KEY (url_id) REFERENCES urls (id),
    ADD CONSTRAINT events_audit_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);

-- A link removed by hand (never by the API, which soft-deletes) takes its clicks along,
-- as the foreign key used to refuse the removal while they were there.
-- (Through the parent, so the counting trigger sees it.)
CREATE FUNCTION remove_link_clicks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events WHERE url_id = OLD.id AND event_type = 'click';
    RETURN OLD;
END
$$;
CREATE TRIGGER urls_remove_clicks BEFORE DELETE ON urls
    FOR EACH ROW EXECUTE FUNCTION remove_link_clicks();

------------------------------------------------------------------------------------------
-- Click totals from the rollups.

ALTER TABLE link_clicks ADD COLUMN retained BIGINT NOT NULL DEFAULT 0;

-- The total of list 'clicks' a click counts in: its user's, and everyone's ('').
CREATE FUNCTION click_count_keys(user_id BIGINT) RETURNS SETOF TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT k FROM (VALUES (''), ('user=' || user_id)) AS keys(k) WHERE k IS NOT NULL
$$;

-- The counting trigger. Clicks: their link's totals, days and referrers (added clicks
-- only: the stats' rollups keep every click ever), its retained clicks and the list
-- 'clicks' (both ways); in the order every writer takes them, each in key order. The rest
-- of the trail: the list 'events', as before.
CREATE OR REPLACE FUNCTION count_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
        SELECT url_id, count(*), count(*), max(timestamp) FROM new_rows
        WHERE event_type = 'click' GROUP BY url_id ORDER BY url_id
        ON CONFLICT (url_id) DO UPDATE
            SET clicks = c.clicks + EXCLUDED.clicks,
                retained = c.retained + EXCLUDED.retained,
                last_click_at = GREATEST(c.last_click_at, EXCLUDED.last_click_at);
        INSERT INTO link_daily_clicks AS c (url_id, day, clicks)
        SELECT url_id, (timestamp AT TIME ZONE 'UTC')::date, count(*) FROM new_rows
        WHERE event_type = 'click' GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, day) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks;
        INSERT INTO link_referrers AS c (url_id, referrer, clicks)
        SELECT url_id, coalesce(details->>'referrer', ''), count(*) FROM new_rows
        WHERE event_type = 'click' GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, referrer) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks;
        SELECT array_agg(k), array_agg(r.n) INTO keys, deltas
        FROM (SELECT user_id, count(*) AS n FROM new_rows
              WHERE event_type = 'click' GROUP BY user_id) r,
             click_count_keys(r.user_id) k;
        PERFORM add_list_counts('clicks', keys, deltas);
        SELECT array_agg(k), array_agg(n) INTO keys, deltas
        FROM (SELECT url_id, user_id, event_type, count(*) AS n FROM new_rows
              WHERE event_type <> 'click' GROUP BY 1, 2, 3) r,
             event_count_keys(r.url_id, r.user_id, r.event_type) k;
        PERFORM add_list_counts('events', keys, deltas);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE link_clicks c SET retained = c.retained - r.n
        FROM (SELECT url_id, count(*) AS n FROM old_rows
              WHERE event_type = 'click' GROUP BY url_id) r
        WHERE c.url_id = r.url_id;
        SELECT array_agg(k), array_agg(-r.n) INTO keys, deltas
        FROM (SELECT user_id, count(*) AS n FROM old_rows
              WHERE event_type = 'click' GROUP BY user_id) r,
             click_count_keys(r.user_id) k;
        PERFORM add_list_counts('clicks', keys, deltas);
        SELECT array_agg(k), array_agg(-r.n) INTO keys, deltas
        FROM (SELECT url_id, user_id, event_type, count(*) AS n FROM old_rows
              WHERE event_type <> 'click' GROUP BY 1, 2, 3) r,
             event_count_keys(r.url_id, r.user_id, r.event_type) k;
        PERFORM add_list_counts('events', keys, deltas);
    END IF;
    RETURN NULL;
END
$$;

-- Retention removes whole months of raw clicks: the link's retained clicks and the list
-- 'clicks' go down by what was removed (the stats' rollups keep every click).
CREATE OR REPLACE FUNCTION events_expire_clicks(cutoff TIMESTAMPTZ) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    part RECORD;
    removed BIGINT := 0;
    gone BIGINT;
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    FOR part IN
        SELECT c.oid::regclass AS name
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events_clicks'::regclass
          AND c.relname ~ '^events_clicks_[0-9]{6}$'
          AND (to_date(substr(c.relname, 15), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC' <= cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part.name);
        EXECUTE format('UPDATE link_clicks c SET retained = c.retained - r.n '
                       'FROM (SELECT url_id, count(*) AS n FROM %s GROUP BY url_id) r '
                       'WHERE c.url_id = r.url_id', part.name);
        EXECUTE format('SELECT array_agg(k), array_agg(-r.n) FROM '
                       '(SELECT user_id, count(*) AS n FROM %s GROUP BY user_id) r, '
                       'click_count_keys(r.user_id) k', part.name)
            INTO keys, deltas;
        PERFORM add_list_counts('clicks', keys, deltas);
        EXECUTE format('SELECT count(*) FROM %s', part.name) INTO gone;
        removed := removed + gone;
        EXECUTE format('DROP TABLE %s', part.name);
    END LOOP;
    -- Older clicks in the default partition (removed from the partition directly, which
    -- the parent's counting trigger does not see: counted here).
    WITH deleted AS (DELETE FROM events_clicks_default WHERE timestamp < cutoff
                     RETURNING url_id, user_id),
         by_link AS (UPDATE link_clicks c SET retained = c.retained - r.n
                     FROM (SELECT url_id, count(*) AS n FROM deleted GROUP BY url_id) r
                     WHERE c.url_id = r.url_id RETURNING 1),
         by_user AS (SELECT user_id, count(*) AS n FROM deleted GROUP BY user_id)
    SELECT array_agg(k), array_agg(-r.n), (SELECT count(*) FROM deleted)
    INTO keys, deltas, gone
    FROM by_user r, click_count_keys(r.user_id) k;
    PERFORM add_list_counts('clicks', keys, deltas);
    RETURN removed + coalesce(gone, 0);
END
$$;

------------------------------------------------------------------------------------------
-- The totals as they are: the list 'events' without the clicks, the list 'clicks', and
-- each link's retained clicks (one pass over the stored clicks).

DELETE FROM list_counts WHERE list = 'events';
INSERT INTO list_counts (list, filter, shard, n)
SELECT 'events', k, 0, sum(r.n)
FROM (SELECT url_id, user_id, event_type, count(*) AS n FROM events_audit
      GROUP BY 1, 2, 3) r,
     event_count_keys(r.url_id, r.user_id, r.event_type) k
GROUP BY k;

CREATE TEMP TABLE click_tally AS
SELECT url_id, user_id, count(*) AS n FROM events_clicks GROUP BY 1, 2;

INSERT INTO list_counts (list, filter, shard, n)
SELECT 'clicks', k, 0, sum(t.n)
FROM click_tally t, click_count_keys(t.user_id) k
GROUP BY k;

UPDATE link_clicks c SET retained = t.n
FROM (SELECT url_id, sum(n)::bigint AS n FROM click_tally GROUP BY url_id) t
WHERE c.url_id = t.url_id;

DROP TABLE click_tally;
