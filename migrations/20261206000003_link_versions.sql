-- Cache coherence by versions (docs/decisions.md): every change to what a short code
-- redirects to gets a new version, from one sequence, so versions only grow, even across a
-- code deleted and created again. The redirect cache's entries carry the version they
-- copy; the notification of a change carries the new one; a replica never keeps or serves
-- an entry older than the newest version it has been told of.
CREATE SEQUENCE link_versions;

-- Existing rows start at 0 (no rewrite of the table); new rows take the next version.
ALTER TABLE urls ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE urls ALTER COLUMN version SET DEFAULT nextval('link_versions');

-- A new version whenever a column the redirect cache carries changes (or the row's
-- deletion). A test reads this trigger's WHEN columns and the view's from the catalog.
CREATE FUNCTION bump_link_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := nextval('link_versions');
    RETURN NEW;
END
$$;

CREATE TRIGGER urls_bump_version
    BEFORE UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.id           IS DISTINCT FROM NEW.id
       OR OLD.original_url IS DISTINCT FROM NEW.original_url
       OR OLD.is_active    IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at   IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at   IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code   IS DISTINCT FROM NEW.short_code)
    EXECUTE FUNCTION bump_link_version();

-- The notification names the code, its new version and the writer:
-- '<short_code> <version> <application_name>'. A removed row's notification carries a
-- version drawn for it (a tombstone). Replicas of the previous release read the version
-- as part of the writer's name, find no replica there, and invalidate as for a write
-- from outside: correct, only more Redis deletes during a rolling upgrade.
CREATE OR REPLACE FUNCTION announce_link_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    origin TEXT := coalesce(current_setting('application_name', true), '');
    version BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        version := nextval('link_versions');
    ELSE
        version := NEW.version;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.short_code IS DISTINCT FROM NEW.short_code THEN
        PERFORM pg_notify('link_cache', OLD.short_code || ' ' || version || ' ' || origin);
    END IF;
    PERFORM pg_notify('link_cache',
        CASE WHEN TG_OP = 'DELETE' THEN OLD.short_code ELSE NEW.short_code END
        || ' ' || version || ' ' || origin);
    RETURN NULL;
END
$$;

-- Announced exactly when the version moves.
DROP TRIGGER urls_announce_update ON urls;
CREATE TRIGGER urls_announce_update
    AFTER UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION announce_link_change();

-- What a redirect reads: now every row, deleted ones too (their version makes a cached
-- "no such link" as comparable as a link), with the version.
DROP VIEW redirect_targets;
CREATE VIEW redirect_targets AS
SELECT id AS url_id, short_code, original_url, is_active, expires_at, version,
       deleted_at IS NOT NULL AS deleted
FROM urls;
