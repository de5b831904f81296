-- Hot path: per-link click counters written by the batched click pipeline, cache
-- invalidation announced from the writing transaction itself, and the L2 cache generation.

ALTER TABLE urls
    ADD COLUMN click_count   BIGINT      NOT NULL DEFAULT 0,
    ADD COLUMN last_click_at TIMESTAMPTZ;

-- Counters for links that already have click events (imported data).
UPDATE urls u SET click_count = c.clicks, last_click_at = c.last_click
FROM (SELECT url_id, count(*) AS clicks, max(timestamp) AS last_click
      FROM events WHERE event_type = 'click' GROUP BY url_id) c
WHERE u.id = c.url_id;

-- Every change that can alter what a short code redirects to is announced on the
-- 'link_cache' channel with the code as payload. NOTIFY is transactional: it is
-- delivered on commit and never for a rolled-back write, whichever code path wrote.
CREATE FUNCTION announce_link_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.short_code IS DISTINCT FROM NEW.short_code THEN
        PERFORM pg_notify('link_cache', OLD.short_code);
    END IF;
    PERFORM pg_notify('link_cache', CASE WHEN TG_OP = 'DELETE' THEN OLD.short_code ELSE NEW.short_code END);
    RETURN NULL;
END
$$;

CREATE TRIGGER urls_announce_insert_delete
    AFTER INSERT OR DELETE ON urls
    FOR EACH ROW EXECUTE FUNCTION announce_link_change();

CREATE TRIGGER urls_announce_update
    AFTER UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.original_url IS DISTINCT FROM NEW.original_url
       OR OLD.is_active   IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at  IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at  IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code  IS DISTINCT FROM NEW.short_code)
    EXECUTE FUNCTION announce_link_change();

-- The namespace of the shared (Redis) cache. A replica that could not delete a stale
-- Redis entry bumps it, so entries written before are never read again.
CREATE TABLE cache_state (
    singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    generation BIGINT  NOT NULL DEFAULT 1
);
INSERT INTO cache_state DEFAULT VALUES;
