-- An export started with an Idempotency-Key is started once: a retry with the same key (and the same request) gets
-- the job the first request made, a different request under a used key is refused.
ALTER TABLE export_jobs
    ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    ADD COLUMN request_hash bytea,
    ADD CHECK ((idempotency_key IS NULL) = (request_hash IS NULL));
CREATE UNIQUE INDEX export_jobs_idempotency ON export_jobs (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
