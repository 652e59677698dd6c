-- Stocktaking: a count of the assets of a location sub-tree against the register.

-- The department that owns an asset (and, through the tree, everything under it that names no owner of its own):
-- where work about the asset as a possession goes, such as a critical asset missing at a stocktake.
ALTER TABLE assets ADD COLUMN owner_department_id bigint REFERENCES departments (id);

-- A count assigned to one counter. command_id is the client's id of the command that made it, so a retried
-- creation makes nothing more.
CREATE TABLE stocktakes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command_id      uuid NOT NULL UNIQUE,
    root_asset_id   bigint NOT NULL REFERENCES assets (id),
    counter_id      bigint NOT NULL REFERENCES users (id),
    note            text CHECK (length(note) <= 500),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by      bigint NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    closed_by       bigint REFERENCES users (id),
    closed_at       timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX stocktakes_counter ON stocktakes (counter_id, status);

-- The locations of the sub-tree as they were when the stocktake was made (code and name copied, so a later rename
-- or move in the register does not change what was to be counted), in tree order.
CREATE TABLE stocktake_stops (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stocktake_id    bigint NOT NULL REFERENCES stocktakes (id),
    location_id     bigint NOT NULL REFERENCES assets (id),
    position        integer NOT NULL,
    depth           integer NOT NULL,
    code            text NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL,
    confirmed_at    timestamptz,
    confirmed_by    bigint REFERENCES users (id),
    confirmed_how   text CHECK (confirmed_how IN ('scanned', 'typed')),
    UNIQUE (stocktake_id, location_id),
    UNIQUE (stocktake_id, position)
);

-- A photo of a counted asset, kept once by its SHA-256 however many times it is sent.
CREATE TABLE stocktake_photos (
    sha256          bytea PRIMARY KEY,
    content_type    text NOT NULL,
    size_bytes      integer NOT NULL,
    content         bytea NOT NULL,
    uploaded_by     bigint REFERENCES users (id),
    uploaded_at     timestamptz NOT NULL
);

-- The assets expected at each stop (copied at generation) and the unexpected ones added while counting: a registered
-- asset by its id, or an unregistered item by its description. An asset is on a stocktake once.
CREATE TABLE stocktake_items (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stocktake_id        bigint NOT NULL REFERENCES stocktakes (id),
    stop_id             bigint NOT NULL REFERENCES stocktake_stops (id),
    asset_id            bigint REFERENCES assets (id),
    expected            boolean NOT NULL,
    code                text,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    asset_type          text,
    criticality         smallint,
    outcome             text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'found', 'missing', 'elsewhere', 'unexpected')),
    found_location_id   bigint REFERENCES assets (id),
    condition           text CHECK (condition IN ('good', 'fair', 'poor', 'damaged')),
    photo_sha256        bytea REFERENCES stocktake_photos (sha256),
    note                text CHECK (length(note) <= 500),
    marked_by           bigint REFERENCES users (id),
    marked_at           timestamptz,
    work_order_id       bigint REFERENCES work_orders (id),
    UNIQUE (stocktake_id, asset_id),
    CHECK (expected OR outcome = 'unexpected'),
    CHECK ((outcome = 'elsewhere') = (found_location_id IS NOT NULL))
);
CREATE INDEX stocktake_items_stop ON stocktake_items (stop_id, id);

-- Every command applied, by the client's id: a replay finds its id here and changes nothing.
CREATE TABLE stocktake_commands (
    command_id      uuid PRIMARY KEY,
    stocktake_id    bigint NOT NULL REFERENCES stocktakes (id),
    kind            text NOT NULL,
    request_hash    bytea NOT NULL,
    actor_id        bigint REFERENCES users (id),
    applied_at      timestamptz NOT NULL
);

-- The natural key of the work order a missing critical asset raises: one per stocktake and asset.
CREATE UNIQUE INDEX work_orders_stocktake_reference ON work_orders (reference) WHERE reference LIKE 'stocktake-%';
