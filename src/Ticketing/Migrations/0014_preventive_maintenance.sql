-- Preventive maintenance: plans with calendar and meter triggers ("whichever comes first"), the per-asset schedule
-- the generator works from, and the occurrences it materialises, each at most once.

-- A plan targets one asset, or every asset of a type under a location (assets of that type added later join it).
CREATE TABLE pm_plans (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    template_id         bigint NOT NULL REFERENCES templates (id),
    asset_id            bigint REFERENCES assets (id),
    asset_type          text CHECK (length(asset_type) BETWEEN 1 AND 100),
    location_asset_id   bigint REFERENCES assets (id),
    estimated_hours     numeric(6, 2) NOT NULL CHECK (estimated_hours > 0 AND estimated_hours <= 1000),
    -- The work order is created this many days before its due date; its due_at is the due date.
    lead_days           smallint NOT NULL DEFAULT 0 CHECK (lead_days BETWEEN 0 AND 365),
    -- skip: no new occurrence while one of the plan on the asset is open (the skipped one is recorded); allow: create anyway.
    overlap_policy      text NOT NULL DEFAULT 'skip' CHECK (overlap_policy IN ('skip', 'allow')),
    -- After the generator was down: create only the latest missed occurrence, create all, or mark them missed.
    catch_up_policy     text NOT NULL DEFAULT 'latest' CHECK (catch_up_policy IN ('latest', 'all', 'mark_missed')),
    active              boolean NOT NULL DEFAULT true,
    -- The forecast proposal this plan was made from or last changed by, if any.
    proposal_id         bigint REFERENCES forecast_proposals (id),
    created_by          bigint REFERENCES users (id),
    created_at          timestamptz NOT NULL,
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL,
    CHECK ((asset_id IS NOT NULL AND asset_type IS NULL AND location_asset_id IS NULL)
        OR (asset_id IS NULL AND asset_type IS NOT NULL AND location_asset_id IS NOT NULL))
);
CREATE INDEX pm_plans_asset ON pm_plans (asset_id) WHERE asset_id IS NOT NULL;
CREATE INDEX pm_plans_type ON pm_plans (asset_type) WHERE asset_type IS NOT NULL;

CREATE TABLE pm_plan_skills (
    plan_id     bigint NOT NULL REFERENCES pm_plans (id) ON DELETE CASCADE,
    skill       text NOT NULL REFERENCES skills (name),
    min_level   smallint NOT NULL DEFAULT 1 CHECK (min_level BETWEEN 1 AND 5),
    PRIMARY KEY (plan_id, skill)
);

-- The triggers of a plan; the first to fall due wins.
--   calendar: every N days/weeks/months/years from the anchor at a local time, in the site calendar's time zone;
--             fixed (due dates from the anchor) or floating (the next due date counts from the last completion);
--             active_months limits seasonal work (NULL: every month).
--   meter:    on the asset's meter of that name, every N units of lifetime usage, or once each time a reading
--             crosses the threshold.
CREATE TABLE pm_triggers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id         bigint NOT NULL REFERENCES pm_plans (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('calendar', 'meter')),
    every_n         integer CHECK (every_n BETWEEN 1 AND 1000),
    unit            text CHECK (unit IN ('day', 'week', 'month', 'year')),
    anchor          date,
    at_time         time,
    schedule        text CHECK (schedule IN ('fixed', 'floating')),
    active_months   smallint[] CHECK (active_months <@ ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]::smallint[]),
    meter_name      text CHECK (length(meter_name) BETWEEN 1 AND 100),
    every_units     numeric(18, 3) CHECK (every_units > 0),
    threshold       numeric(18, 3),
    CHECK (kind <> 'calendar' OR (every_n IS NOT NULL AND unit IS NOT NULL AND anchor IS NOT NULL AND at_time IS NOT NULL
        AND schedule IS NOT NULL AND meter_name IS NULL AND every_units IS NULL AND threshold IS NULL)),
    CHECK (kind <> 'meter' OR (meter_name IS NOT NULL AND (every_units IS NULL) <> (threshold IS NULL)
        AND every_n IS NULL AND unit IS NULL AND anchor IS NULL AND at_time IS NULL AND schedule IS NULL AND active_months IS NULL))
);
CREATE INDEX pm_triggers_plan ON pm_triggers (plan_id);

-- What the generator knows of one plan on one asset. A pass claims the rows whose next_check_at has come with
-- FOR UPDATE SKIP LOCKED, so two generators never work on the same row and an idle pass reads one index range.
CREATE TABLE pm_schedules (
    plan_id             bigint NOT NULL REFERENCES pm_plans (id) ON DELETE CASCADE,
    asset_id            bigint NOT NULL REFERENCES assets (id),
    next_check_at       timestamptz NOT NULL,
    -- The due date a floating calendar counts from: the last completion, or the anchor before the first.
    last_completed_at   timestamptz,
    -- The occurrence generated last on a calendar trigger (its due key) and on a meter trigger (lifetime usage at it).
    last_due_key        text,
    last_meter_lifetime numeric(18, 3),
    PRIMARY KEY (plan_id, asset_id)
);
CREATE INDEX pm_schedules_due ON pm_schedules (next_check_at);

-- One row per occurrence of a plan on an asset. The key is the due date's local "yyyy-MM-ddTHH:mm" for a calendar
-- trigger and "m:<bucket>" for a meter trigger, so an occurrence is generated, skipped or missed at most once
-- however many generators run.
--   planned:   known ahead because a planner moved it (moved_to), not generated yet;
--   generated: its work order exists; skipped: an earlier occurrence was still open; missed: the generator was down.
CREATE TABLE pm_occurrences (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id         bigint NOT NULL REFERENCES pm_plans (id) ON DELETE CASCADE,
    asset_id        bigint NOT NULL REFERENCES assets (id),
    trigger_id      bigint REFERENCES pm_triggers (id) ON DELETE SET NULL,
    due_key         text NOT NULL CHECK (length(due_key) BETWEEN 1 AND 50),
    due_at          timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('planned', 'generated', 'skipped', 'missed')),
    work_order_id   bigint UNIQUE REFERENCES work_orders (id),
    moved_to        timestamptz,
    move_reason     text CHECK (length(move_reason) BETWEEN 1 AND 500),
    moved_by        bigint REFERENCES users (id),
    recorded_at     timestamptz NOT NULL,
    note            text CHECK (length(note) <= 500),
    UNIQUE (plan_id, asset_id, due_key),
    CHECK ((status = 'generated') = (work_order_id IS NOT NULL)),
    CHECK ((moved_to IS NULL) = (move_reason IS NULL))
);
CREATE INDEX pm_occurrences_due ON pm_occurrences (due_at);
CREATE INDEX pm_occurrences_open ON pm_occurrences (plan_id, asset_id) WHERE status = 'generated';
