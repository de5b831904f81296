-- What a redirect reads of a live link, as a view: the columns the redirect cache carries
-- (domain::RedirectTarget) are this view's, and the invalidation trigger must watch every
-- column of `urls` it reads. A test compares the two in the catalog (pg_depend), so a
-- column added here without the trigger fails the suite, not a production cache.
CREATE VIEW redirect_targets AS
SELECT id AS url_id, short_code, original_url, is_active, expires_at
FROM urls
WHERE deleted_at IS NULL;

-- The update trigger watches every column the view reads, `id` included (it never changes,
-- but the rule is then one the catalog can check without exceptions).
DROP TRIGGER urls_announce_update ON urls;
CREATE TRIGGER urls_announce_update
    AFTER UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.id           IS DISTINCT FROM NEW.id
       OR OLD.original_url IS DISTINCT FROM NEW.original_url
       OR OLD.is_active    IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at   IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at   IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code   IS DISTINCT FROM NEW.short_code)
    EXECUTE FUNCTION announce_link_change();
