-- Exactly-once click writes. Every batch of clicks carries an id, committed in the same
-- transaction as its clicks: a retry after an ambiguous failure (the commit went through,
-- its answer was lost) or a replay from a replica's on-disk spill finds its id and writes
-- nothing again. Ids are kept a day (the upkeep deletes older ones): longer than any
-- retry, and than a spill waits for its replica to come back in practice
-- (docs/failure-modes.md states the bound).
CREATE TABLE click_batches (
    id           BIGINT      PRIMARY KEY,
    clicks       INT         NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL DEFAULT now()
) WITH (autovacuum_vacuum_insert_scale_factor = 0.05);
CREATE INDEX click_batches_committed_at_idx ON click_batches (committed_at);
