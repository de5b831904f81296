-- Who caused an event: the name of the API key whose request wrote it, or NULL for what
-- no key causes (a redirect's click, an import, an open API). Only the service writes
-- `click`, `created`, `updated` and `deleted` now (POST /events refuses them), so with
-- the actor the trail says who changed a link. Key names are at most 64 characters
-- (API_KEYS_FILE, `shortener api-key`).
--
-- A nullable column without a default: a catalog change only, on the parent and every
-- partition, with no rewrite of the stored events.
ALTER TABLE events ADD COLUMN actor TEXT CHECK (char_length(actor) BETWEEN 1 AND 64);
