-- Click retention in bounded rounds (docs/decisions.md, "Retention in rounds").
--
-- Before, `events_expire_clicks` took each expired month partition with an ACCESS
-- EXCLUSIVE lock, counted it whole (per link and per owner) and dropped it, all in one
-- statement under the pool's 5 s statement timeout: at ten million clicks it fails, and
-- the writers wait behind its lock meanwhile.
--
-- Now one round removes at most `max_rows` expired clicks, from the oldest month
-- partition wholly before the cutoff (or, when there is none, the default partition's
-- clicks older than the cutoff), and takes them off their links' retained clicks and the
-- list totals in the same statement, so every count is exact after each round. A month
-- partition a round leaves empty is dropped (an empty table: the drop's lock is brief and
-- waits at most the caller's lock_timeout). `more`: whether another round has work.

DROP FUNCTION events_expire_clicks(TIMESTAMPTZ);

CREATE FUNCTION events_expire_clicks_round(cutoff TIMESTAMPTZ, max_rows INTEGER,
                                           OUT removed BIGINT, OUT more BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
    part REGCLASS;
    keys TEXT[];
    deltas BIGINT[];
BEGIN
    SELECT c.oid::regclass INTO part
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events_clicks'::regclass
      AND c.relname ~ '^events_clicks_[0-9]{6}$'
      AND (to_date(substr(c.relname, 15), 'YYYYMM') + interval '1 month') AT TIME ZONE 'UTC' <= cutoff
    ORDER BY c.relname
    LIMIT 1;
    IF part IS NULL THEN
        part := 'events_clicks_default'::regclass;
    END IF;
    -- Removed from the partition directly, which the parent's counting trigger does not
    -- see: counted here.
    EXECUTE format(
        'WITH gone AS (
             DELETE FROM %1$s WHERE ctid = ANY (ARRAY(
                 SELECT ctid FROM %1$s WHERE timestamp < $1 LIMIT $2))
             RETURNING url_id, user_id, timestamp),
         by_link AS (
             INSERT INTO link_clicks AS c (url_id, clicks, retained, last_click_at)
             SELECT url_id, 0, -count(*), max(timestamp) FROM gone
             GROUP BY url_id ORDER BY url_id
             ON CONFLICT (url_id) DO UPDATE SET retained = c.retained + EXCLUDED.retained
             RETURNING 1),
         by_user AS (SELECT user_id, count(*) AS n FROM gone GROUP BY user_id)
         SELECT array_agg(k), array_agg(-r.n), (SELECT count(*) FROM gone)
         FROM by_user r, click_count_keys(r.user_id) k', part)
    USING cutoff, max_rows
    INTO keys, deltas, removed;
    PERFORM add_list_counts('clicks', keys, deltas);
    removed := coalesce(removed, 0);
    more := removed >= max_rows;
    IF part <> 'events_clicks_default'::regclass AND NOT more THEN
        EXECUTE format('DROP TABLE %s', part);
        -- The next month may be expired too.
        more := true;
    END IF;
END
$$;
