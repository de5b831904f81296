-- Cache invalidations name their origin: the payload of 'link_cache' becomes
-- '<short_code> <application_name>'. A replica's service layer deletes the shared (Redis)
-- entry of every link it changes itself; the listeners of the other replicas then only
-- evict their in-process entry. A change from anywhere else (psql, a restore, `seed`)
-- names no replica, so every listener deletes the shared entry too (docs/decisions.md).
CREATE OR REPLACE FUNCTION announce_link_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    origin TEXT := coalesce(current_setting('application_name', true), '');
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.short_code IS DISTINCT FROM NEW.short_code THEN
        PERFORM pg_notify('link_cache', OLD.short_code || ' ' || origin);
    END IF;
    PERFORM pg_notify('link_cache',
        CASE WHEN TG_OP = 'DELETE' THEN OLD.short_code ELSE NEW.short_code END || ' ' || origin);
    RETURN NULL;
END
$$;
