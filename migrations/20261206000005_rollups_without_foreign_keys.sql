-- The click rollups without foreign keys (docs/decisions.md, "Clicks over many links").
--
-- A click that creates a rollup row (a link's first click, and every link's first click of
-- each day) paid a foreign-key check on `urls` for each new row of `link_clicks`,
-- `link_daily_clicks` and `link_referrers`: a `FOR KEY SHARE` lock that marks the link's
-- row, dirtying its page. Clicks spread over 1,000,000 links, where most clicks of a batch
-- make new rows: 26.0 us of Postgres CPU per click with the keys, 13.7 without
-- (`BENCH_LINKS=1000000 BENCH_OLD_BEFORE=20261206000005 scripts/bench-click-writes 30 3`,
-- 2026-12-06; docs/performance.md).
--
-- The rows are written only by the counting trigger on click events, and the writer
-- inserts only clicks of links it joins in the same statement, as for the click events
-- since 20261206000004. A link removed by hand (the API only soft-deletes) takes its
-- rollups with it, as `ON DELETE CASCADE` did.

ALTER TABLE link_clicks DROP CONSTRAINT link_clicks_url_id_fkey;
ALTER TABLE link_daily_clicks DROP CONSTRAINT link_daily_clicks_url_id_fkey;
ALTER TABLE link_referrers DROP CONSTRAINT link_referrers_url_id_fkey;

CREATE OR REPLACE FUNCTION remove_link_clicks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events WHERE url_id = OLD.id AND event_type = 'click';
    DELETE FROM link_clicks WHERE url_id = OLD.id;
    DELETE FROM link_daily_clicks WHERE url_id = OLD.id;
    DELETE FROM link_referrers WHERE url_id = OLD.id;
    RETURN OLD;
END
$$;
