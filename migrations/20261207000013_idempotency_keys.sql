-- Idempotency keys (issue 24, `POST /urls/bulk`): a call with an `Idempotency-Key` is
-- remembered for 24 hours, per API key (`scope`: the key's name, '' for an open API), with
-- a digest of the request and the answer it got, in the transaction that made its links.
-- A retry with the same key gets the same answer and creates nothing; a concurrent one
-- waits on the first's row (the primary key) and then reads its answer.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_digest TEXT NOT NULL,
    status SMALLINT,
    answer JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
