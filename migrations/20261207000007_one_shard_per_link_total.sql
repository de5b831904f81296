-- A link's own event totals in one shard (issue 23): the list totals keyed by a link
-- (`url=…`, alone or with a user or a type) were written, like every total, in the
-- writing backend's shard (its pid modulo 16), so each link that ever had an event kept
-- up to 4 keys in up to 16 shards: up to 64 rows per link, never pruned. A link's events
-- come one request at a time, so its totals gain nothing from shards: they now go to
-- shard 0, and a link keeps at most one row per key (one per combination of its link,
-- user and event types). The totals shared by many links (all, by user, by type) keep
-- their shards. Totals stay exact: a reader sums a key's shards as before.

CREATE OR REPLACE FUNCTION list_count_shard_of(filter TEXT) RETURNS SMALLINT
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN filter LIKE 'url=%' THEN 0::smallint ELSE list_count_shard() END
$$;

CREATE OR REPLACE FUNCTION add_list_counts(p_list TEXT, keys TEXT[], deltas BIGINT[]) RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO list_counts AS c (list, filter, shard, n)
    SELECT p_list, k, list_count_shard_of(k), sum(d)
    FROM unnest(keys, deltas) AS t(k, d)
    GROUP BY k HAVING sum(d) <> 0
    ORDER BY k
    ON CONFLICT (list, filter, shard) DO UPDATE SET n = c.n + EXCLUDED.n
$$;

-- The rows already spread over shards, gathered into shard 0 (the sums unchanged).
WITH spread AS (
    DELETE FROM list_counts WHERE filter LIKE 'url=%' AND shard <> 0
    RETURNING list, filter, n)
INSERT INTO list_counts AS c (list, filter, shard, n)
SELECT list, filter, 0, sum(n) FROM spread GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (list, filter, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
