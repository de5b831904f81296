-- An operator's lock on a link, and reports of links by anyone (docs/security.md, "Locks
-- and reports").
--
-- A locked link is inactive with a reason: its owner cannot turn it back on (the API
-- refuses `is_active: true` while the lock holds); only an admin lifts the lock. The
-- lock's columns are not carried by the redirect cache: locking sets is_active, which is,
-- and moves the link's version.
ALTER TABLE urls
    ADD COLUMN locked_reason TEXT CHECK (char_length(locked_reason) BETWEEN 1 AND 500),
    ADD COLUMN locked_at TIMESTAMPTZ,
    ADD CONSTRAINT urls_lock_is_whole CHECK ((locked_reason IS NULL) = (locked_at IS NULL)),
    ADD CONSTRAINT urls_locked_is_inactive CHECK (locked_at IS NULL OR NOT is_active);

-- A report names a link and a reason; it holds nothing about who sent it.
CREATE TABLE link_reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url_id BIGINT NOT NULL REFERENCES urls (id) ON DELETE CASCADE,
    reason TEXT NOT NULL CHECK (reason IN ('phishing', 'malware', 'spam', 'abuse', 'other')),
    comment TEXT CHECK (char_length(comment) BETWEEN 1 AND 1000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX link_reports_url_id_idx ON link_reports (url_id, id);

-- Their list's total, as the other lists keep theirs (list_counts, never count(*)).
CREATE FUNCTION count_link_reports() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO delta FROM new_rows;
    ELSE
        SELECT -count(*) INTO delta FROM old_rows;
    END IF;
    PERFORM add_list_counts('reports', ARRAY[''], ARRAY[delta]);
    RETURN NULL;
END
$$;
CREATE TRIGGER link_reports_count_insert AFTER INSERT ON link_reports
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_link_reports();
CREATE TRIGGER link_reports_count_delete AFTER DELETE ON link_reports
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_link_reports();
