-- Inspection routes and rounds: routes as immutable versions of ordered stops and check items, schedules of slots in
-- the site's time zone, round instances (one per route and slot), the stops confirmed or skipped, the results the
-- server judged, the photos kept by their SHA-256, and the findings each raised or added to a work order.

-- A route is the stable identity; what it checks is in its versions. template_id is the inspection template whose
-- department owns the route and whose assignment rules (skills) choose the inspector of each round.
CREATE TABLE inspection_routes (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    template_id         bigint NOT NULL REFERENCES templates (id),
    current_version     integer NOT NULL DEFAULT 1 CHECK (current_version >= 1),
    active              boolean NOT NULL DEFAULT true,
    created_by          bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL,
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL
);

-- Each save of a route is a new version; versions, their stops and items are never changed afterwards.
CREATE TABLE inspection_route_versions (
    route_id            bigint NOT NULL REFERENCES inspection_routes (id),
    version             integer NOT NULL CHECK (version >= 1),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    created_by          bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (route_id, version)
);

-- A stop is an asset: a machine or component, or a location (an asset of kind site, area or line).
CREATE TABLE inspection_stops (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route_id            bigint NOT NULL,
    version             integer NOT NULL,
    position            smallint NOT NULL CHECK (position >= 1),
    asset_id            bigint NOT NULL REFERENCES assets (id),
    instructions        text NOT NULL DEFAULT '' CHECK (length(instructions) <= 2000),
    FOREIGN KEY (route_id, version) REFERENCES inspection_route_versions (route_id, version),
    UNIQUE (route_id, version, position)
);

-- The identity of "the same check" across versions of a route: findings are de-duplicated per asset and check.
CREATE TABLE inspection_checks (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route_id            bigint NOT NULL REFERENCES inspection_routes (id)
);

-- One check item as one version of the route states it. Limits: a number below warning_low or above warning_high is a
-- warning; below alarm_low or above alarm_high a failure. severity gives the finding's priority (critical 1 .. low 4).
CREATE TABLE inspection_items (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stop_id             bigint NOT NULL REFERENCES inspection_stops (id),
    check_id            bigint NOT NULL REFERENCES inspection_checks (id),
    position            smallint NOT NULL CHECK (position >= 1),
    label               text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    kind                text NOT NULL CHECK (kind IN ('pass_fail', 'number', 'choice', 'text')),
    unit                text CHECK (length(unit) BETWEEN 1 AND 20),
    warning_low         numeric(18, 3),
    warning_high        numeric(18, 3),
    alarm_low           numeric(18, 3),
    alarm_high          numeric(18, 3),
    options             text[],
    failing_options     text[],
    photo_required      text NOT NULL DEFAULT 'never' CHECK (photo_required IN ('never', 'always', 'on_failure')),
    severity            text NOT NULL DEFAULT 'medium' CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    fault_code          text CHECK (length(fault_code) BETWEEN 1 AND 50),
    finding_template_id bigint REFERENCES templates (id),
    meter_name          text CHECK (length(meter_name) BETWEEN 1 AND 100),
    UNIQUE (stop_id, position),
    UNIQUE (stop_id, check_id),
    CHECK (kind = 'number' OR (unit IS NULL AND warning_low IS NULL AND warning_high IS NULL AND alarm_low IS NULL AND alarm_high IS NULL AND meter_name IS NULL)),
    CHECK ((kind = 'choice') = (options IS NOT NULL))
);
CREATE INDEX inspection_items_check ON inspection_items (check_id);

-- When rounds of a route fall due: from the anchor every N units at the times of day, in the time zone of the site of
-- the route's first stop. A round may be done from its slot until window_minutes later; it is late after that and
-- missed when not completed grace_minutes after the window. The generator makes a round lead_minutes before its slot.
CREATE TABLE inspection_schedules (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route_id            bigint NOT NULL REFERENCES inspection_routes (id),
    every_n             integer NOT NULL CHECK (every_n BETWEEN 1 AND 1000),
    unit                text NOT NULL CHECK (unit IN ('day', 'week', 'month', 'year')),
    anchor              date NOT NULL,
    times               time[] NOT NULL CHECK (cardinality(times) BETWEEN 1 AND 24),
    window_minutes      integer NOT NULL CHECK (window_minutes BETWEEN 1 AND 10080),
    grace_minutes       integer NOT NULL DEFAULT 0 CHECK (grace_minutes BETWEEN 0 AND 10080),
    lead_minutes        integer NOT NULL DEFAULT 60 CHECK (lead_minutes BETWEEN 0 AND 10080),
    active              boolean NOT NULL DEFAULT true,
    -- Generator state: slots before starts_at are not owed; last_slot_at is the latest slot it looked at.
    starts_at           timestamptz NOT NULL,
    last_slot_at        timestamptz,
    next_check_at       timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX inspection_schedules_route ON inspection_schedules (route_id);
CREATE INDEX inspection_schedules_due ON inspection_schedules (next_check_at) WHERE active;

-- One round per route and slot (the slot's local wall-clock key), however many generators run. It keeps the route
-- version it was made from: every result in it is judged by that version.
CREATE TABLE inspection_rounds (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    route_id            bigint NOT NULL,
    route_version       integer NOT NULL,
    schedule_id         bigint REFERENCES inspection_schedules (id),
    slot_key            text NOT NULL CHECK (length(slot_key) BETWEEN 1 AND 50),
    slot_at             timestamptz NOT NULL,
    window_ends_at      timestamptz NOT NULL,
    grace_ends_at       timestamptz NOT NULL,
    status              text NOT NULL CHECK (status IN ('open', 'in_progress', 'completed', 'missed')),
    department_id       bigint NOT NULL REFERENCES departments (id),
    assignee_id         bigint REFERENCES users (id),
    assignment_rule_id  bigint,
    assignment_reason   text,
    created_at          timestamptz NOT NULL,
    started_at          timestamptz,
    started_by          bigint REFERENCES users (id),
    completed_at        timestamptz,
    completed_by        bigint REFERENCES users (id),
    missed_at           timestamptz,
    FOREIGN KEY (route_id, route_version) REFERENCES inspection_route_versions (route_id, version),
    UNIQUE (route_id, slot_key),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK ((status = 'missed') = (missed_at IS NOT NULL))
);
CREATE INDEX inspection_rounds_open ON inspection_rounds (grace_ends_at) WHERE status IN ('open', 'in_progress');
CREATE INDEX inspection_rounds_assignee ON inspection_rounds (assignee_id, slot_at);
CREATE INDEX inspection_rounds_route ON inspection_rounds (route_id, slot_at);

-- A stop of a round: confirmed by its asset's code (scanned or typed), skipped with a reason, or missed (written by the
-- closing job for the stops of a round that ended without them).
CREATE TABLE inspection_round_stops (
    round_id            bigint NOT NULL REFERENCES inspection_rounds (id),
    stop_id             bigint NOT NULL REFERENCES inspection_stops (id),
    status              text NOT NULL CHECK (status IN ('confirmed', 'skipped', 'missed')),
    scanned_code        text CHECK (length(scanned_code) <= 50),
    skip_reason         text CHECK (length(skip_reason) BETWEEN 1 AND 500),
    recorded_by         bigint REFERENCES users (id),
    recorded_at         timestamptz NOT NULL,
    PRIMARY KEY (round_id, stop_id),
    CHECK ((status = 'skipped') = (skip_reason IS NOT NULL)),
    CHECK ((status = 'confirmed') = (scanned_code IS NOT NULL))
);

-- Photos taken on rounds, content-addressed: the same bytes are one row, never changed, so a finding's copy on a work
-- order and the result both name the same SHA-256 whatever is edited later.
CREATE TABLE inspection_photos (
    sha256              bytea PRIMARY KEY CHECK (length(sha256) = 32),
    file_name           text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type        text NOT NULL,
    size_bytes          integer NOT NULL CHECK (size_bytes > 0),
    content             bytea NOT NULL,
    uploaded_by         bigint REFERENCES users (id),
    uploaded_at         timestamptz NOT NULL
);

-- One result per item of a round, judged by the server against the item (of the round's version). limit_name and
-- limit_value say which limit a warning or failure crossed.
CREATE TABLE inspection_results (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id            bigint NOT NULL REFERENCES inspection_rounds (id),
    item_id             bigint NOT NULL REFERENCES inspection_items (id),
    value_number        numeric(18, 3),
    value_text          text CHECK (length(value_text) <= 2000),
    verdict             text NOT NULL CHECK (verdict IN ('pass', 'warning', 'fail')),
    limit_name          text CHECK (limit_name IN ('warning_low', 'warning_high', 'alarm_low', 'alarm_high', 'failing_option', 'failed')),
    limit_value         numeric(18, 3),
    photo_sha256        bytea REFERENCES inspection_photos (sha256),
    note                text CHECK (length(note) <= 2000),
    recorded_by         bigint REFERENCES users (id),
    recorded_at         timestamptz NOT NULL,
    meter_reading_id    bigint REFERENCES meter_readings (id),
    meter_refusal       text,
    UNIQUE (round_id, item_id)
);

-- What a failed result raised: the work order made for it (created) or the open one for the same asset and check it
-- was added to, as the occurrence-th finding there.
CREATE TABLE inspection_findings (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    result_id           bigint NOT NULL UNIQUE REFERENCES inspection_results (id),
    round_id            bigint NOT NULL REFERENCES inspection_rounds (id),
    asset_id            bigint NOT NULL REFERENCES assets (id),
    check_id            bigint NOT NULL REFERENCES inspection_checks (id),
    work_order_id       bigint REFERENCES work_orders (id),
    created_work_order  boolean NOT NULL,
    occurrence          integer NOT NULL CHECK (occurrence >= 1),
    refusal             text,
    raised_at           timestamptz NOT NULL
);
CREATE INDEX inspection_findings_work_order ON inspection_findings (work_order_id);
CREATE INDEX inspection_findings_asset ON inspection_findings (asset_id, raised_at);

-- The lock and pointer of findings per asset and check: the open work order new findings go to, and how many it holds.
CREATE TABLE inspection_finding_targets (
    asset_id            bigint NOT NULL REFERENCES assets (id),
    check_id            bigint NOT NULL REFERENCES inspection_checks (id),
    work_order_id       bigint REFERENCES work_orders (id),
    occurrences         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (asset_id, check_id)
);

-- Commands of the web page and the field app carry an id the client made: a replay returns what the first did.
CREATE TABLE inspection_commands (
    command_id          uuid PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id),
    kind                text NOT NULL,
    request_hash        bytea NOT NULL,
    round_id            bigint REFERENCES inspection_rounds (id),
    entity_id           bigint,
    created_at          timestamptz NOT NULL
);
