-- Sensor alarms: the sources that send them, the rules that judge them, one state machine per (asset, rule), the
-- episodes that raised (or were kept from raising) work, the work orders alarms feed, and every event as received.

-- A source signs each batch with its secret (HMAC-SHA256 of the body, like outgoing webhooks), so the secret is kept
-- as it is; the API key names the source and is shown with the secret only in the answer to creating it.
CREATE TABLE alarm_sources (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    api_key         text NOT NULL UNIQUE CHECK (length(api_key) BETWEEN 16 AND 100),
    secret          text NOT NULL,
    created_by      bigint NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);

-- A rule judges one signal of one asset, or of every asset of a type. 'above'/'below' compare a value with the
-- threshold; 'state' takes ready raised/cleared states from the source. for_seconds: how long the condition must hold
-- before the alarm is active; clear_seconds: how long the clear must hold. deadband: how far back past the threshold
-- a value must come to clear (hysteresis). inhibits_site: while active, alarms of the other assets of its site are
-- suppressed (a gateway that lost its connection).
CREATE TABLE alarm_rules (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id        bigint REFERENCES assets (id),
    asset_type      text CHECK (length(asset_type) BETWEEN 1 AND 100),
    signal          text NOT NULL CHECK (length(signal) BETWEEN 1 AND 100),
    comparison      text NOT NULL CHECK (comparison IN ('above', 'below', 'state')),
    threshold       numeric(18, 3),
    deadband        numeric(18, 3) NOT NULL DEFAULT 0 CHECK (deadband >= 0),
    for_seconds     integer NOT NULL DEFAULT 0 CHECK (for_seconds BETWEEN 0 AND 604800),
    clear_seconds   integer NOT NULL DEFAULT 0 CHECK (clear_seconds BETWEEN 0 AND 604800),
    severity        text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    fault_code      text NOT NULL CHECK (length(fault_code) BETWEEN 1 AND 50),
    template_id     bigint NOT NULL REFERENCES templates (id),
    inhibits_site   boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    CHECK ((asset_id IS NULL) <> (asset_type IS NULL)),
    CHECK ((comparison = 'state') = (threshold IS NULL))
);
CREATE INDEX alarm_rules_asset ON alarm_rules (asset_id, signal) WHERE active;
CREATE INDEX alarm_rules_type ON alarm_rules (asset_type, signal) WHERE active;

-- The work orders alarms raised or fed: occurrences counts every alarming event attached (the raising one included),
-- episodes every raise; repeat_of is the closed work order a new one followed within the cool-down.
CREATE TABLE alarm_work_orders (
    work_order_id   bigint PRIMARY KEY REFERENCES work_orders (id),
    asset_id        bigint NOT NULL REFERENCES assets (id),
    fault_code      text NOT NULL,
    site_id         bigint REFERENCES assets (id),
    occurrences     bigint NOT NULL DEFAULT 0,
    episodes        integer NOT NULL DEFAULT 0,
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    repeat_of       bigint REFERENCES work_orders (id),
    created_at      timestamptz NOT NULL
);
CREATE INDEX alarm_work_orders_asset_fault ON alarm_work_orders (asset_id, fault_code, work_order_id DESC);
CREATE INDEX alarm_work_orders_site ON alarm_work_orders (site_id, created_at);

-- One raise of an alarm (active until cleared). outcome: what the raise did.
CREATE TABLE alarm_episodes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id        bigint NOT NULL REFERENCES assets (id),
    rule_id         bigint NOT NULL REFERENCES alarm_rules (id),
    site_id         bigint REFERENCES assets (id),
    raised_at       timestamptz NOT NULL,
    cleared_at      timestamptz,
    outcome         text NOT NULL CHECK (outcome IN ('work_order', 'attached', 'rejected_back', 'suppressed', 'rate_limited', 'refused')),
    work_order_id   bigint REFERENCES work_orders (id),
    note            text,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX alarm_episodes_asset ON alarm_episodes (asset_id, rule_id, id DESC);
CREATE INDEX alarm_episodes_open ON alarm_episodes (site_id) WHERE cleared_at IS NULL;
CREATE INDEX alarm_episodes_work_order ON alarm_episodes (work_order_id);

-- The state machine of one rule on one asset: normal -> pending -> active -> clearing -> cleared. since: when the
-- current state began (event time); last_event_at: the newest event judged, so older ones arriving late do not move it.
CREATE TABLE alarm_states (
    asset_id        bigint NOT NULL REFERENCES assets (id),
    rule_id         bigint NOT NULL REFERENCES alarm_rules (id),
    site_id         bigint REFERENCES assets (id),
    state           text NOT NULL CHECK (state IN ('normal', 'pending', 'active', 'clearing', 'cleared')),
    since           timestamptz,
    last_event_at   timestamptz,
    last_value      numeric(18, 3),
    episode_id      bigint REFERENCES alarm_episodes (id),
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (asset_id, rule_id)
);
CREATE INDEX alarm_states_due ON alarm_states (since) WHERE state IN ('pending', 'clearing');
CREATE INDEX alarm_states_site_active ON alarm_states (site_id) WHERE state IN ('active', 'clearing');

-- Every event as received, with what was done with it; replaying an event id changes nothing.
CREATE TABLE alarm_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id       bigint NOT NULL REFERENCES alarm_sources (id),
    event_id        text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    asset_id        bigint NOT NULL REFERENCES assets (id),
    signal          text NOT NULL,
    value           numeric(18, 3),
    state           text CHECK (state IN ('raised', 'cleared')),
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('api', 'mqtt')),
    outcome         text NOT NULL,
    rule_id         bigint,
    episode_id      bigint,
    work_order_id   bigint,
    UNIQUE (source_id, event_id)
);
CREATE INDEX alarm_events_episode ON alarm_events (episode_id) WHERE episode_id IS NOT NULL;
CREATE INDEX alarm_events_asset ON alarm_events (asset_id, occurred_at DESC);

CREATE TRIGGER alarm_events_append_only
    BEFORE UPDATE OR DELETE ON alarm_events
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER alarm_events_no_truncate
    BEFORE TRUNCATE ON alarm_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();

-- A source may name the asset by its device id: the asset's serial number.
CREATE INDEX assets_serial_number ON assets (serial_number) WHERE serial_number IS NOT NULL;
