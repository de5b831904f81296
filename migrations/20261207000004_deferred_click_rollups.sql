-- Click rollups folded after the write, not in it (docs/decisions.md, "Clicks over many
-- links cost what clicks on one do").
--
-- Before, the click writer's insert fired the counting trigger, which upserted each
-- distinct link's counter, day and referrer rows and the list totals in the writer's
-- transaction: over 20,000 links a batch of 1,000 clicks touched about 3,000 rollup rows,
-- and a click cost about 50 us of Postgres CPU against 20 on two hot links
-- (scripts/bench-click-writes).
--
-- Now:
--  * the click writer inserts into the click partitions directly, and in the same
--    statement one pending delta per (link, owner, day, referrer) of its batch into
--    `click_deltas`, which has one index and no uniqueness to check;
--  * `fold_click_deltas` moves the committed deltas into the rollups and the list
--    totals, in one transaction that deletes what it adds, so a delta counts once: in
--    `click_deltas` before the fold's commit, in the rollups after. Every replica calls it
--    about once a second (CLICK_FOLD_INTERVAL_MS) under an advisory lock; a fold sums all
--    the deltas a link gathered since the last, so clicks repeated on a link cost one
--    upsert per rollup row per fold instead of one per batch;
--  * the `*_now` views add the pending deltas to the rollups: every read of a total reads
--    them, in one statement (one snapshot), so totals stay exact at every moment;
--  * the counting trigger no longer counts an updated click as a new one (it used to add
--    the new rows to the totals, the days and the referrers): an update of a click
--    changes no count;
--  * removing clicks (retention, a link removed by hand) lowers the link's retained clicks
--    by an upsert, since its first clicks may still be pending without a counter row.

CREATE TABLE click_deltas (
    url_id BIGINT NOT NULL,
    user_id BIGINT,
    day DATE NOT NULL,
    referrer TEXT NOT NULL,
    clicks INTEGER NOT NULL,
    last_click_at TIMESTAMPTZ NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 50000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 50000);
-- The stats' tail of one link; the list totals' tails read the whole (small) table.
CREATE INDEX click_deltas_url_id_idx ON click_deltas (url_id);

-- The rollups and what is pending, as one.
CREATE VIEW link_clicks_now AS
SELECT url_id, sum(clicks)::bigint AS clicks, sum(retained)::bigint AS retained,
       max(last_click_at) AS last_click_at
FROM (SELECT url_id, clicks, retained, last_click_at FROM link_clicks
      UNION ALL
      SELECT url_id, clicks, clicks, last_click_at FROM click_deltas) t
GROUP BY url_id;

CREATE VIEW link_daily_clicks_now AS
SELECT url_id, day, sum(clicks)::bigint AS clicks
FROM (SELECT url_id, day, clicks FROM link_daily_clicks
      UNION ALL
      SELECT url_id, day, clicks FROM click_deltas) t
GROUP BY url_id, day;

CREATE VIEW link_referrers_now AS
SELECT url_id, referrer, sum(clicks)::bigint AS clicks
FROM (SELECT url_id, referrer, clicks FROM link_referrers
      UNION ALL
      SELECT url_id, referrer, clicks FROM click_deltas) t
GROUP BY url_id, referrer;

-- Moves at most `max_rows` committed deltas into the rollups and the list 'clicks'; how
-- many rows and clicks it moved. Each rollup in key order, as every writer of them takes
-- them. The caller holds the fold's advisory lock, so folds do not meet on those rows.
CREATE FUNCTION fold_click_deltas(max_rows INTEGER, OUT rows BIGINT, OUT clicks BIGINT)
LANGUAGE sql AS $$
    WITH taken AS (
        DELETE FROM click_deltas
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM click_deltas LIMIT max_rows))
        RETURNING url_id, user_id, day, referrer, clicks, last_click_at),
    totals AS (
        INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
        SELECT url_id, sum(clicks), sum(clicks), max(last_click_at) FROM taken
        GROUP BY url_id ORDER BY url_id
        ON CONFLICT (url_id) DO UPDATE
            SET clicks = c.clicks + EXCLUDED.clicks,
                retained = c.retained + EXCLUDED.retained,
                last_click_at = GREATEST(c.last_click_at, EXCLUDED.last_click_at)
        RETURNING 1),
    days AS (
        INSERT INTO link_daily_clicks AS c (url_id, day, clicks)
        SELECT url_id, day, sum(clicks) FROM taken GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, day) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks
        RETURNING 1),
    referrers AS (
        INSERT INTO link_referrers AS c (url_id, referrer, clicks)
        SELECT url_id, referrer, sum(clicks) FROM taken GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (url_id, referrer) DO UPDATE SET clicks = c.clicks + EXCLUDED.clicks
        RETURNING 1),
    lists AS (
        INSERT INTO list_counts AS c (list, filter, shard, n)
        SELECT 'clicks', k, list_count_shard(), sum(r.n)
        FROM (SELECT user_id, sum(clicks)::bigint AS n FROM taken GROUP BY user_id) r,
             click_count_keys(r.user_id) k
        GROUP BY k HAVING sum(r.n) <> 0 ORDER BY k
        ON CONFLICT (list, filter, shard) DO UPDATE SET n = c.n + EXCLUDED.n
        RETURNING 1)
    SELECT count(*), coalesce(sum(clicks), 0)::bigint FROM taken
$$;

-- The counting trigger. Inserted clicks (through `events`: the seed import, a test; the
-- click writer inserts into the partitions and writes its own deltas) become deltas.
-- Removed clicks leave their link's retained clicks and the list 'clicks' at once (an
-- upsert: the link's first clicks may still be pending). Updated clicks change nothing.
-- The rest of the trail: the list 'events', both ways, as before.
CREATE OR REPLACE FUNCTION count_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO click_deltas (url_id, user_id, day, referrer, clicks, last_click_at)
            SELECT url_id, user_id, (timestamp AT TIME ZONE 'UTC')::date,
                   coalesce(details->>'referrer', ''), count(*), max(timestamp)
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

-- A link removed by hand takes its pending clicks too. They enter the list 'clicks' as
-- they leave the deltas (the ones this removal took: a fold may have taken the others),
-- so that removing the link's click events takes every one of them out of it.
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
    DELETE FROM events WHERE url_id = OLD.id AND event_type = 'click';
    DELETE FROM link_clicks WHERE url_id = OLD.id;
    DELETE FROM link_daily_clicks WHERE url_id = OLD.id;
    DELETE FROM link_referrers WHERE url_id = OLD.id;
    RETURN OLD;
END
$$;

-- Retention as before, but a link's retained clicks go down by an upsert: its first
-- clicks may still be pending, with no counter row yet.
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
        EXECUTE format('INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at) '
                       'SELECT url_id, 0, -count(*), max(timestamp) FROM %s '
                       'GROUP BY url_id ORDER BY url_id '
                       'ON CONFLICT (url_id) DO UPDATE SET retained = c.retained + EXCLUDED.retained',
                       part.name);
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
                     RETURNING url_id, user_id, timestamp),
         by_link AS (INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
                     SELECT url_id, 0, -count(*), max(timestamp) FROM deleted
                     GROUP BY url_id ORDER BY url_id
                     ON CONFLICT (url_id) DO UPDATE SET retained = c.retained + EXCLUDED.retained
                     RETURNING 1),
         by_user AS (SELECT user_id, count(*) AS n FROM deleted GROUP BY user_id)
    SELECT array_agg(k), array_agg(-r.n), (SELECT count(*) FROM deleted)
    INTO keys, deltas, gone
    FROM by_user r, click_count_keys(r.user_id) k;
    PERFORM add_list_counts('clicks', keys, deltas);
    RETURN removed + coalesce(gone, 0);
END
$$;
