-- Tags (issue 24): each link holds a list of short names (lower case, at most 20, kept
-- sorted and distinct by the service). `GET /urls?tag=a&tag=b` lists the live links
-- holding all of them through a GIN index; `tag_counts` keeps, per owner and tag, how
-- many live links hold it (in 16 shards, as `list_counts`, so that concurrent creates
-- with one popular tag do not queue on one row): `GET /tags` and the total of a list
-- filtered by one tag read it, never counting links.
--
-- The column has a constant default (no rewrite of `urls`); the index is built by one
-- scan of `urls`, during which writes of links wait (docs/deployment.md).
ALTER TABLE urls ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX urls_tags_idx ON urls USING gin (tags) WHERE deleted_at IS NULL;

-- `user_id` 0 stands for the links without an owner.
CREATE TABLE tag_counts (
    user_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    shard SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (user_id, tag, shard)
);

-- The triggers add the live links of a statement's new rows and take off those of its
-- old rows, per owner and tag (an update that keeps a link's tags, owner and liveness
-- adds nothing), in the writing backend's shard, in key order. Each branch reads only
-- the transition tables its event has.
CREATE FUNCTION count_link_tags() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owners BIGINT[];
    names TEXT[];
    deltas BIGINT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(coalesce(r.user_id, 0)), array_agg(t.tag), array_agg(1::bigint)
        INTO owners, names, deltas
        FROM new_rows r, unnest(r.tags) AS t(tag) WHERE r.deleted_at IS NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(coalesce(r.user_id, 0)), array_agg(t.tag), array_agg(r.d)
        INTO owners, names, deltas
        FROM (SELECT user_id, tags, 1::bigint AS d FROM new_rows WHERE deleted_at IS NULL
              UNION ALL
              SELECT user_id, tags, -1 FROM old_rows WHERE deleted_at IS NULL) r,
             unnest(r.tags) AS t(tag);
    ELSE
        SELECT array_agg(coalesce(r.user_id, 0)), array_agg(t.tag), array_agg(-1::bigint)
        INTO owners, names, deltas
        FROM old_rows r, unnest(r.tags) AS t(tag) WHERE r.deleted_at IS NULL;
    END IF;
    INSERT INTO tag_counts AS c (user_id, tag, shard, n)
    SELECT x.owner, x.tag, list_count_shard(), sum(x.d)
    FROM unnest(owners, names, deltas) AS x(owner, tag, d)
    GROUP BY 1, 2 HAVING sum(x.d) <> 0 ORDER BY 1, 2
    ON CONFLICT (user_id, tag, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER urls_count_tags_insert AFTER INSERT ON urls REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_link_tags();
CREATE TRIGGER urls_count_tags_update AFTER UPDATE ON urls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_link_tags();
CREATE TRIGGER urls_count_tags_delete AFTER DELETE ON urls REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_link_tags();
