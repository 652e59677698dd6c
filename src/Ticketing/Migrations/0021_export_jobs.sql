-- Exports too large for a page to wait for, made by a background worker. A job waits 'queued' until a worker claims it
-- (FOR UPDATE SKIP LOCKED) into one of the configured number of slots; the two unique indexes below make "at most N
-- at once across the app" and "one per user" hold however many app instances claim at the same moment: a second claim
-- of the same slot or for the same owner fails on the index and that worker tries again later. lease_until is renewed
-- with the progress; a job whose worker stopped renewing goes back to the queue.
CREATE TABLE export_jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id        bigint NOT NULL REFERENCES users (id),
    kind            text NOT NULL CHECK (kind ~ '^[a-z_]{1,50}$'),
    format          text NOT NULL CHECK (format IN ('xlsx', 'csv', 'parquet')),
    parameters      jsonb NOT NULL,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    file_name       text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'ready', 'failed', 'expired')),
    rows_total      bigint NOT NULL CHECK (rows_total >= 0),
    rows_written    bigint NOT NULL DEFAULT 0,
    slot            int CHECK (slot >= 1),
    worker          text,
    lease_until     timestamptz,
    attempts        int NOT NULL DEFAULT 0,
    error           text,
    file_path       text,
    file_bytes      bigint,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    expires_at      timestamptz,
    CHECK ((state = 'running') = (slot IS NOT NULL AND worker IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK (state <> 'ready' OR (file_path IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX export_jobs_one_running_per_owner ON export_jobs (owner_id) WHERE state = 'running';
CREATE UNIQUE INDEX export_jobs_one_per_slot ON export_jobs (slot) WHERE state = 'running';
CREATE INDEX export_jobs_queued ON export_jobs (id) WHERE state = 'queued';
CREATE INDEX export_jobs_owner ON export_jobs (owner_id, id DESC);
CREATE INDEX export_jobs_expiring ON export_jobs (expires_at) WHERE state IN ('ready', 'failed');

-- A notification may point somewhere other than a work order: a ready export's file.
ALTER TABLE notifications ADD COLUMN link text CHECK (link IS NULL OR link ~ '^/[^/]');
