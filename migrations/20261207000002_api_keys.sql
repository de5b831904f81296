-- API keys as records (docs/security.md, "Owners and keys"): made, listed and revoked over
-- the API by an admin key; the operator's bootstrap keys stay in API_KEYS / API_KEYS_FILE.
-- Only the SHA-256 of a secret is stored. A key with a user_id acts only as that user
-- (an owner key), and is never an admin key.
CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    user_id BIGINT REFERENCES users (id),
    digest BYTEA NOT NULL CHECK (length(digest) = 32),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT api_keys_owner_is_not_admin CHECK (user_id IS NULL OR scope <> 'admin')
);
CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);
-- A name stands for one live key in the logs and the audit trail.
CREATE UNIQUE INDEX api_keys_live_name_key ON api_keys (name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id) WHERE user_id IS NOT NULL;

-- Every replica keeps the live keys in memory and reloads them when told: a revoked key is
-- refused everywhere within the notification's delay. Not for last_used_at, which the
-- replicas themselves write every few seconds.
CREATE FUNCTION notify_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_keys', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, scope, user_id, digest, expires_at, revoked_at
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION notify_api_keys_changed();
