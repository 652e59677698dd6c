-- The offline field app: registered devices, the sync commands applied once, conflicting field edits, resumable photo
-- uploads and the change log the app pulls.

-- A round result recorded on a field device keeps the device's clock beside recorded_at (the sync time).
ALTER TABLE inspection_results ADD COLUMN device_time timestamptz;

-- A phone or tablet of a user, with a long-lived credential of which only the SHA-256 is kept. It works until
-- expires_at (moved forward on each use), until revoked, and only while its user is active.
CREATE TABLE field_devices (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash     bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    last_sync_at    timestamptz,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_by      bigint REFERENCES users (id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX field_devices_user ON field_devices (user_id);

-- One row per command id, written in the transaction of the command's effect: a retry finds it and gets the stored
-- result; a concurrent retry waits on the primary key until the first commits. A refusal is stored too (final).
CREATE TABLE sync_commands (
    command_id      uuid PRIMARY KEY,
    device_id       bigint NOT NULL REFERENCES field_devices (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 50),
    request_hash    bytea NOT NULL,
    base_version    integer,
    device_time     timestamptz,
    synced_at       timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('applied', 'refused', 'conflict')),
    code            text,
    args            jsonb,
    field           text,
    entity_id       bigint,
    version         integer,
    conflict_id     bigint
);
CREATE INDEX sync_commands_device ON sync_commands (device_id, synced_at);

-- The row version at which a synced edit last changed a field of a work order: an edit from an older base of the same
-- field is a conflict; edits of other fields, comments and status changes in between are not.
CREATE TABLE sync_field_versions (
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    field           text NOT NULL CHECK (field IN ('title', 'description', 'contact')),
    row_version     integer NOT NULL,
    PRIMARY KEY (work_order_id, field)
);

-- Two edits of one field from different bases: the one that came second waits here for a manager of the work order's
-- department, who keeps the current value or takes the proposed one.
CREATE TABLE sync_conflicts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    department_id   bigint NOT NULL REFERENCES departments (id),
    field           text NOT NULL CHECK (field IN ('title', 'description', 'contact')),
    base_version    integer NOT NULL,
    current_version integer NOT NULL,
    current_value   text,
    proposed_value  text,
    command_id      uuid NOT NULL UNIQUE,
    user_id         bigint NOT NULL REFERENCES users (id),
    device_id       bigint NOT NULL REFERENCES field_devices (id),
    device_time     timestamptz,
    created_at      timestamptz NOT NULL,
    resolved_at     timestamptz,
    resolved_by     bigint REFERENCES users (id),
    resolution      text CHECK (resolution IN ('keep_current', 'take_proposed')),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX sync_conflicts_open ON sync_conflicts (department_id, created_at) WHERE resolved_at IS NULL;

-- A photo on its way up, by its SHA-256, in chunks at byte offsets. When every byte is in and the hash matches, the
-- photo moves to inspection_photos (the content-addressed photo store) and these rows go.
CREATE TABLE field_photo_uploads (
    sha256          bytea PRIMARY KEY CHECK (length(sha256) = 32),
    total_bytes     integer NOT NULL CHECK (total_bytes > 0),
    received_bytes  integer NOT NULL DEFAULT 0 CHECK (received_bytes BETWEEN 0 AND total_bytes),
    content_type    text NOT NULL,
    started_by      bigint NOT NULL REFERENCES users (id),
    started_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE field_photo_chunks (
    sha256          bytea NOT NULL REFERENCES field_photo_uploads (sha256) ON DELETE CASCADE,
    start_byte      integer NOT NULL CHECK (start_byte >= 0),
    content         bytea NOT NULL,
    PRIMARY KEY (sha256, start_byte)
);

-- What changed, for GET /sync/changes: a row per write of a work order or a round, with the transaction that wrote it.
-- A cursor is a snapshot; the next pull returns the rows whose transaction that snapshot did not see, so a row
-- committed late, with a lower id, is not skipped.
CREATE TABLE field_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    entity          text NOT NULL CHECK (entity IN ('work_order', 'round')),
    entity_id       bigint NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX field_changes_xid ON field_changes (xid);

CREATE FUNCTION note_field_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO field_changes (entity, entity_id) VALUES (TG_ARGV[0], NEW.id);
    RETURN NULL;
END;
$$;

-- Work orders inserted already closed (imported or generated history) are nobody's field work: not noted.
CREATE TRIGGER work_orders_field_insert AFTER INSERT ON work_orders
    FOR EACH ROW WHEN (NEW.status NOT IN ('closed', 'cancelled')) EXECUTE FUNCTION note_field_change('work_order');
CREATE TRIGGER work_orders_field_change AFTER UPDATE ON work_orders
    FOR EACH ROW EXECUTE FUNCTION note_field_change('work_order');
CREATE TRIGGER inspection_rounds_field_change AFTER INSERT OR UPDATE ON inspection_rounds
    FOR EACH ROW EXECUTE FUNCTION note_field_change('round');
