-- The ground truth behind generated histories (`Ingest generate`). The work orders alone say what people recorded;
-- forecasts are scored against what really happened: when each failure occurred, which assets were wearing out and
-- from when, and the failure laws they were drawn from. Nothing in the live application reads or writes these tables.

-- One row per generator run. Each run makes its own organisation whose names carry the tag (e.g. G7R1).
CREATE TABLE generator_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tag             text NOT NULL UNIQUE,
    seed            integer NOT NULL,
    options         jsonb NOT NULL,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    counts          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The Weibull law of each failure mode of an asset type: time between failures in stress-days, where a stress-day
-- runs faster in summer (summer_amplitude) and on degrading assets; preventive maintenance removes pm_effect of the
-- mode's effective age.
CREATE TABLE generator_failure_modes (
    run_id              bigint NOT NULL REFERENCES generator_runs (id),
    asset_type          text NOT NULL,
    fault_code          text NOT NULL,
    shape               double precision NOT NULL,
    scale_days          double precision NOT NULL,
    pm_effect           double precision NOT NULL,
    summer_amplitude    double precision NOT NULL,
    PRIMARY KEY (run_id, asset_type, fault_code)
);

-- Assets that wear out: from starts_at their stress clock runs 1 + stress_per_year * (years since starts_at) times faster.
CREATE TABLE generator_degradations (
    run_id              bigint NOT NULL REFERENCES generator_runs (id),
    asset_id            bigint PRIMARY KEY REFERENCES assets (id),
    starts_at           timestamptz NOT NULL,
    stress_per_year     double precision NOT NULL
);

-- Every true failure and the corrective work order that records it (reported a little after the failure itself).
CREATE TABLE generator_failures (
    run_id          bigint NOT NULL REFERENCES generator_runs (id),
    work_order_id   bigint PRIMARY KEY REFERENCES work_orders (id),
    asset_id        bigint NOT NULL REFERENCES assets (id),
    fault_code      text NOT NULL,
    failed_at       timestamptz NOT NULL
);
CREATE INDEX generator_failures_asset ON generator_failures (asset_id, failed_at);
