-- Smart assignment: an ordered list of rules that route a new work order to a department and a person, the
-- working hours and away periods that say who is on shift, and a round-robin cursor per rule.

-- Working hours are wall-clock times in the user's own IANA time zone (for example 'Asia/Taipei'), so a shift of
-- 08:00-17:00 stays 08:00-17:00 across daylight-saving changes. 'UTC' until someone sets it.
ALTER TABLE users ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);

CREATE TABLE assignment_rules (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position            integer NOT NULL,
    name                text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    active              boolean NOT NULL DEFAULT true,
    -- What a work order must have to match; a null (or empty) criterion matches anything.
    template_id         bigint REFERENCES templates (id),
    work_type           text CHECK (work_type IN ('corrective', 'preventive', 'inspection', 'service_request', 'approval')),
    priorities          smallint[] NOT NULL DEFAULT '{}',
    asset_type          text CHECK (length(asset_type) BETWEEN 1 AND 100),
    -- Matches the asset itself and everything below it in the asset tree.
    location_asset_id   bigint REFERENCES assets (id),
    -- Top-level custom field values the work order must hold, compared for equality (jsonb containment).
    custom_fields       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom_fields) = 'object'),
    -- Where the work goes and who among the department gets it.
    department_id       bigint NOT NULL REFERENCES departments (id),
    strategy            text NOT NULL CHECK (strategy IN ('least_loaded', 'round_robin', 'named_person')),
    named_user_id       bigint REFERENCES users (id),
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((strategy = 'named_person') = (named_user_id IS NOT NULL))
);
CREATE INDEX assignment_rules_order ON assignment_rules (position, id) WHERE active;

CREATE TABLE assignment_rule_skills (
    rule_id     bigint NOT NULL REFERENCES assignment_rules (id) ON DELETE CASCADE,
    skill       text NOT NULL REFERENCES skills (name),
    min_level   smallint NOT NULL CHECK (min_level BETWEEN 1 AND 5),
    PRIMARY KEY (rule_id, skill)
);

-- One row per rule: who got the rule's last work order. Auto-assignment locks it (FOR UPDATE) before it reads the
-- candidates' load, so concurrent creates under one rule take turns and each sees the other's assignment.
CREATE TABLE assignment_rule_cursors (
    rule_id         bigint PRIMARY KEY REFERENCES assignment_rules (id) ON DELETE CASCADE,
    last_user_id    bigint REFERENCES users (id)
);

-- A weekly pattern: weekday 1 = Monday ... 7 = Sunday (ISO 8601), times in the user's time zone. A shift over
-- midnight is written as two rows. A user with no rows at all is treated as available at any hour.
CREATE TABLE user_working_hours (
    user_id     bigint NOT NULL REFERENCES users (id),
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts_at   time NOT NULL,
    ends_at     time NOT NULL,
    PRIMARY KEY (user_id, weekday, starts_at),
    CHECK (starts_at < ends_at)
);

CREATE TABLE user_away (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    away_from   timestamptz NOT NULL,
    away_to     timestamptz NOT NULL,
    reason      text CHECK (length(reason) <= 200),
    CHECK (away_from < away_to)
);
CREATE INDEX user_away_user ON user_away (user_id, away_to);

-- Each person's load (open work weighted by priority) is read on every auto-assignment: an index-only scan of this.
CREATE INDEX work_orders_open_by_assignee ON work_orders (assignee_id) INCLUDE (priority)
    WHERE status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration');

-- The rule that routed a work order; reassignment checks the new assignee against its skills.
ALTER TABLE work_orders ADD COLUMN assignment_rule_id bigint REFERENCES assignment_rules (id);
