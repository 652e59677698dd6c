-- The asset register: areas between sites and lines, the attributes a plant keeps from acceptance to disposal, the
-- lifecycle of the maintenance standard (EN 13306 states), an append-only history, and meters with their readings.

ALTER TABLE assets DROP CONSTRAINT assets_kind_check;
ALTER TABLE assets ADD CONSTRAINT assets_kind_check CHECK (kind IN ('site', 'area', 'line', 'machine', 'component'));

-- 'retired' was the one state after service; it meant what decommissioned means now (no new work without a reason).
ALTER TABLE assets DROP CONSTRAINT assets_lifecycle_check;
UPDATE assets SET lifecycle = 'decommissioned' WHERE lifecycle = 'retired';
ALTER TABLE assets ADD CONSTRAINT assets_lifecycle_check
    CHECK (lifecycle IN ('planned', 'in_service', 'standby', 'under_repair', 'decommissioned', 'disposed'));

ALTER TABLE assets
    ADD COLUMN manufacturer     text CHECK (length(manufacturer) <= 200),
    ADD COLUMN model            text CHECK (length(model) <= 200),
    ADD COLUMN serial_number    text CHECK (length(serial_number) <= 100),
    ADD COLUMN commissioned_on  date,
    ADD COLUMN cost             numeric(14, 2) CHECK (cost >= 0),
    ADD COLUMN warranty_ends_on date,
    ADD COLUMN row_version      integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now();
CREATE INDEX assets_type ON assets (asset_type) WHERE asset_type IS NOT NULL;

-- One row per change of an asset: created, edited (payload: the fields before and after), moved (payload: the old
-- and new parent), and every lifecycle step (from and to state, with the reason).
CREATE TABLE asset_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id        bigint NOT NULL REFERENCES assets (id),
    occurred_at     timestamptz NOT NULL,
    actor_id        bigint REFERENCES users (id),
    kind            text NOT NULL CHECK (kind IN ('created', 'edited', 'moved', 'lifecycle', 'imported')),
    from_state      text,
    to_state        text,
    note            text CHECK (length(note) <= 2000),
    payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX asset_events_asset ON asset_events (asset_id, id);

CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER asset_events_append_only
    BEFORE UPDATE OR DELETE ON asset_events
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER asset_events_no_truncate
    BEFORE TRUNCATE ON asset_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();

-- A counter on an asset in any unit (run hours, cycles, km). The name is what plans for a type of asset refer to,
-- so it is unique per asset.
CREATE TABLE meters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id        bigint NOT NULL REFERENCES assets (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    unit            text NOT NULL CHECK (length(unit) BETWEEN 1 AND 20),
    created_at      timestamptz NOT NULL,
    UNIQUE (asset_id, name)
);

-- Readings never go down unless declared a reset (meter replaced, counter rolled over). lifetime is the usage since
-- the meter was first read, carried across resets, so "every N units" keeps counting over a replaced meter.
-- The same meter, time and value sent twice is one reading.
CREATE TABLE meter_readings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id        bigint NOT NULL REFERENCES meters (id),
    read_at         timestamptz NOT NULL,
    value           numeric(18, 3) NOT NULL CHECK (value >= 0),
    lifetime        numeric(18, 3) NOT NULL CHECK (lifetime >= 0),
    is_reset        boolean NOT NULL DEFAULT false,
    reset_reason    text CHECK (length(reset_reason) <= 500),
    source          text NOT NULL CHECK (source IN ('web', 'api', 'import', 'sensor', 'field')),
    entered_by      bigint REFERENCES users (id),
    recorded_at     timestamptz NOT NULL,
    UNIQUE (meter_id, read_at, value),
    CHECK (is_reset = (reset_reason IS NOT NULL))
);
CREATE INDEX meter_readings_meter ON meter_readings (meter_id, read_at DESC, id DESC);

CREATE TRIGGER meter_readings_append_only
    BEFORE UPDATE OR DELETE ON meter_readings
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
