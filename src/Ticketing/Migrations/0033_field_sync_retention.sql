-- Retention of the field sync tables: field_changes and sync_commands rows older than Field:ChangeRetention and
-- Field:CommandRetention are deleted by the field retention job, which records here what it took away.

-- One row. The job claims it (one instance per period does the work); purged_xid is the newest transaction whose
-- field_changes rows were deleted: a cursor whose snapshot had not seen that transaction may have missed a change, so
-- /sync/changes answers 410 sync.cursor_expired for it instead of a silent gap.
CREATE TABLE field_sync_retention (
    id              boolean PRIMARY KEY DEFAULT true CHECK (id),
    purged_xid      xid8,
    last_run_at     timestamptz,
    runs            bigint NOT NULL DEFAULT 0
);
INSERT INTO field_sync_retention DEFAULT VALUES;

CREATE INDEX field_changes_changed_at ON field_changes (changed_at);
CREATE INDEX sync_commands_synced_at ON sync_commands (synced_at);

-- A device whose stored command results were deleted keeps the device time they were deleted up to: a command of it
-- made before that could be one already applied whose answer is gone, so it is refused (sync.command_expired) rather
-- than applied a second time.
ALTER TABLE field_devices ADD COLUMN commands_purged_before timestamptz;
