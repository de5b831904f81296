-- Links that behave (issue 24): per link, a cap on human visits, where an ended link sends
-- its visitors, the redirect's status code, whether the visitor's query string is
-- forwarded, the custom preview link unfurlers are shown (`{"title", "description",
-- "image"}`, checked by the service), and the argon2id hash of the link's password. Every
-- column is carried by the redirect cache (the hash only as whether there is one), so the
-- version trigger watches each, and the `redirect_targets` view reads them.
--
-- Adding columns with constant defaults rewrites no row; the checks are validated by one
-- scan of `urls`.
ALTER TABLE urls
    ADD COLUMN max_visits INTEGER CHECK (max_visits >= 1),
    ADD COLUMN expired_url TEXT CHECK (char_length(expired_url) BETWEEN 1 AND 2048),
    ADD COLUMN redirect_status SMALLINT NOT NULL DEFAULT 302
        CHECK (redirect_status IN (301, 302, 307, 308)),
    ADD COLUMN forward_query BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN preview JSONB CHECK (jsonb_typeof(preview) = 'object'),
    ADD COLUMN password_hash TEXT CHECK (password_hash LIKE '$argon2id$%');

-- The visits a capped link has used. The redirect of each human visit to a capped link
-- adds one under this row's lock, only while it is below the cap: concurrent visits on
-- every replica queue on the row, so exactly `max_visits` of them get through (docs/
-- decisions.md, "Visit caps counted in Postgres"). A row is made when a link gets a cap
-- and kept while it has one; a link that never had a cap has none.
CREATE TABLE link_visits (
    url_id BIGINT PRIMARY KEY REFERENCES urls (id) ON DELETE CASCADE,
    used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0)
);

DROP TRIGGER urls_bump_version ON urls;
CREATE TRIGGER urls_bump_version
    BEFORE UPDATE ON urls
    FOR EACH ROW
    WHEN (OLD.id              IS DISTINCT FROM NEW.id
       OR OLD.original_url    IS DISTINCT FROM NEW.original_url
       OR OLD.is_active       IS DISTINCT FROM NEW.is_active
       OR OLD.expires_at      IS DISTINCT FROM NEW.expires_at
       OR OLD.deleted_at      IS DISTINCT FROM NEW.deleted_at
       OR OLD.short_code      IS DISTINCT FROM NEW.short_code
       OR OLD.max_visits      IS DISTINCT FROM NEW.max_visits
       OR OLD.expired_url     IS DISTINCT FROM NEW.expired_url
       OR OLD.redirect_status IS DISTINCT FROM NEW.redirect_status
       OR OLD.forward_query   IS DISTINCT FROM NEW.forward_query
       OR OLD.preview         IS DISTINCT FROM NEW.preview
       OR OLD.password_hash   IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION bump_link_version();

-- What a redirect reads, with the link's behaviour and whether its visits are used up. The
-- visit that uses up a cap moves the link's version itself (`link_visits` is not `urls`,
-- which the trigger watches), so that every replica learns the link has ended.
CREATE OR REPLACE VIEW redirect_targets AS
SELECT u.id AS url_id, u.short_code, u.original_url, u.is_active, u.expires_at, u.version,
       u.deleted_at IS NOT NULL AS deleted,
       u.max_visits, u.expired_url, u.redirect_status, u.forward_query,
       u.max_visits IS NOT NULL AND coalesce(v.used, 0) >= u.max_visits AS visits_used_up,
       u.preview, u.password_hash IS NOT NULL AS protected
FROM urls u LEFT JOIN link_visits v ON v.url_id = u.id;
