-- Export jobs may be cancelled while they wait or run (by their owner or an administrator): a cancelled running job
-- loses its slot at once, and its worker, whose next progress report finds the job no longer its own, stops and
-- deletes the partial file. A failed job keeps why as a refusal code (error_code, its detail in error), so the owner's
-- notification and the administrator's list say it in the reader's language.
ALTER TABLE export_jobs DROP CONSTRAINT export_jobs_state_check;
ALTER TABLE export_jobs ADD CONSTRAINT export_jobs_state_check
    CHECK (state IN ('queued', 'running', 'ready', 'failed', 'expired', 'cancelled'));
ALTER TABLE export_jobs ADD COLUMN error_code text CHECK (error_code ~ '^[a-z_.]{1,100}$');
ALTER TABLE export_jobs ADD COLUMN cancelled_by bigint REFERENCES users (id);

-- A notification may carry a refusal code and its values: pages show it in the reader's language; text stays the
-- English (for e-mail and clients that do not know the code).
ALTER TABLE notifications ADD COLUMN code text CHECK (code ~ '^[a-z_.]{1,100}$');
ALTER TABLE notifications ADD COLUMN args text[];
