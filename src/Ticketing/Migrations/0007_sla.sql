-- SLA: business calendars, policies, the clock of each work order, its pauses, and the alerts sent.
-- Minutes of a day are counted from local midnight (0..1440), in the calendar's IANA time zone.

CREATE TABLE business_calendars (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    time_zone       text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 100),
    is_default      boolean NOT NULL DEFAULT false,
    row_version     integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one default: the calendar of work whose asset has no site calendar, or that has no asset.
CREATE UNIQUE INDEX business_calendars_one_default ON business_calendars (is_default) WHERE is_default;

-- Working spans per weekday (0 = Sunday .. 6 = Saturday), possibly several a day; they never overlap (checked on save).
CREATE TABLE calendar_hours (
    calendar_id     bigint NOT NULL REFERENCES business_calendars (id) ON DELETE CASCADE,
    weekday         smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute    smallint NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute      smallint NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    PRIMARY KEY (calendar_id, weekday, start_minute),
    CHECK (end_minute > start_minute)
);

-- Whole local days without working time.
CREATE TABLE calendar_holidays (
    calendar_id     bigint NOT NULL REFERENCES business_calendars (id) ON DELETE CASCADE,
    day             date NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    PRIMARY KEY (calendar_id, day)
);

-- The calendar of a site (an asset of kind 'site'); work on anything below the site counts its time.
CREATE TABLE site_calendars (
    site_asset_id   bigint PRIMARY KEY REFERENCES assets (id),
    calendar_id     bigint NOT NULL REFERENCES business_calendars (id) ON DELETE CASCADE
);
CREATE INDEX site_calendars_calendar ON site_calendars (calendar_id);

-- Targets in business minutes per priority, optionally narrowed to one template; the template's policy wins.
CREATE TABLE sla_policies (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    priority            smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    template_id         bigint REFERENCES templates (id),
    response_minutes    integer NOT NULL CHECK (response_minutes > 0),
    resolution_minutes  integer NOT NULL CHECK (resolution_minutes > 0),
    warning_percent     smallint NOT NULL DEFAULT 80 CHECK (warning_percent BETWEEN 1 AND 99),
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (priority, template_id)
);

-- The SLA clock of one work order, started at create. Targets are copied from the policy so that later policy
-- changes do not move running clocks. The due times are also written to work_orders.response_due_at and
-- resolution_due_at; warn_at is when the policy's warning share of a target has elapsed. next_alert_at is the
-- earliest warning or breach still to send (NULL while paused or when nothing is left), so the monitor's scan
-- reads only the clocks that need it.
CREATE TABLE sla_clocks (
    work_order_id       bigint PRIMARY KEY REFERENCES work_orders (id),
    policy_id           bigint REFERENCES sla_policies (id) ON DELETE SET NULL,
    calendar_id         bigint REFERENCES business_calendars (id) ON DELETE SET NULL,
    started_at          timestamptz NOT NULL,
    response_minutes    integer NOT NULL CHECK (response_minutes > 0),
    resolution_minutes  integer NOT NULL CHECK (resolution_minutes > 0),
    warning_percent     smallint NOT NULL CHECK (warning_percent BETWEEN 1 AND 99),
    response_warn_at    timestamptz NOT NULL,
    response_due_at     timestamptz NOT NULL,
    resolution_warn_at  timestamptz NOT NULL,
    resolution_due_at   timestamptz NOT NULL,
    paused_since        timestamptz,
    next_alert_at       timestamptz
);
CREATE INDEX sla_clocks_next_alert ON sla_clocks (next_alert_at) WHERE next_alert_at IS NOT NULL;
-- The at-risk view: running clocks past their warning share.
CREATE INDEX sla_clocks_resolution_warn ON sla_clocks (resolution_warn_at) WHERE paused_since IS NULL;

-- Paused time, for the warehouse to replay: one row per stay in a pausing status (on_hold, awaiting_feedback),
-- [started_at, ended_at) in UTC; ended_at is NULL while the pause lasts. business_minutes is the business time the
-- pause took in the clock's calendar, by which the due times were pushed out when it ended.
CREATE TABLE sla_pauses (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id       bigint NOT NULL REFERENCES work_orders (id),
    status              text NOT NULL CHECK (status IN ('on_hold', 'awaiting_feedback')),
    started_at          timestamptz NOT NULL,
    ended_at            timestamptz,
    business_minutes    numeric(12, 2),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX sla_pauses_work_order ON sla_pauses (work_order_id, started_at);
CREATE UNIQUE INDEX sla_pauses_one_open ON sla_pauses (work_order_id) WHERE ended_at IS NULL;

-- Warnings and breaches sent: the key makes each one happen once, however many monitors scan at the same time.
CREATE TABLE sla_alerts (
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    target          text NOT NULL CHECK (target IN ('response', 'resolution')),
    level           text NOT NULL CHECK (level IN ('warning', 'breach')),
    sent_at         timestamptz NOT NULL,
    PRIMARY KEY (work_order_id, target, level)
);

-- Until an administrator defines one, time runs around the clock in UTC.
INSERT INTO business_calendars (name, time_zone, is_default) VALUES ('Around the clock (UTC)', 'UTC', true);
INSERT INTO calendar_hours (calendar_id, weekday, start_minute, end_minute)
SELECT c.id, d, 0, 1440 FROM business_calendars c CROSS JOIN generate_series(0, 6) AS d WHERE c.is_default;
