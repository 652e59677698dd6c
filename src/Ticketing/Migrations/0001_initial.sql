-- The work-order core. Times are timestamptz (UTC in the application).

CREATE TABLE departments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100)
);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name       text NOT NULL UNIQUE CHECK (user_name ~ '^[a-z0-9._-]{2,64}$'),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    email           text,
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'executive', 'reliability_engineer', 'manager', 'planner', 'technician', 'requester')),
    department_id   bigint REFERENCES departments (id),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE skills (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,50}$')
);

CREATE TABLE user_skills (
    user_id     bigint NOT NULL REFERENCES users (id),
    skill       text NOT NULL REFERENCES skills (name),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, skill)
);

CREATE TABLE assets (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 50),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('site', 'line', 'machine', 'component')),
    parent_id       bigint REFERENCES assets (id),
    asset_type      text,
    location        text,
    criticality     smallint NOT NULL DEFAULT 3 CHECK (criticality BETWEEN 1 AND 5),
    installed_on    date,
    lifecycle       text NOT NULL DEFAULT 'in_service' CHECK (lifecycle IN ('planned', 'in_service', 'retired')),
    CHECK ((kind = 'site') = (parent_id IS NULL))
);
CREATE INDEX assets_parent ON assets (parent_id);

CREATE TABLE templates (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    work_type           text NOT NULL CHECK (work_type IN ('corrective', 'preventive', 'inspection', 'service_request', 'approval')),
    default_priority    smallint NOT NULL CHECK (default_priority BETWEEN 1 AND 4),
    department_id       bigint NOT NULL REFERENCES departments (id),
    asset_required      boolean NOT NULL DEFAULT false,
    contact_required    boolean NOT NULL DEFAULT false,
    fields              jsonb NOT NULL DEFAULT '[]',
    active              boolean NOT NULL DEFAULT true,
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_order_counters (
    year        integer PRIMARY KEY,
    last_value  integer NOT NULL
);

CREATE TABLE work_orders (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    template_id         bigint NOT NULL REFERENCES templates (id),
    work_type           text NOT NULL,
    title               text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description         text NOT NULL CHECK (length(description) <= 20000),
    priority            smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status              text NOT NULL CHECK (status IN ('new', 'assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration', 'resolved', 'closed', 'cancelled')),
    requester_id        bigint NOT NULL REFERENCES users (id),
    contact             text,
    asset_id            bigint REFERENCES assets (id),
    department_id       bigint NOT NULL REFERENCES departments (id),
    assignee_id         bigint REFERENCES users (id),
    reference           text,
    due_at              timestamptz,
    response_due_at     timestamptz,
    resolution_due_at   timestamptz,
    created_at          timestamptz NOT NULL,
    acknowledged_at     timestamptz,
    started_at          timestamptz,
    resolved_at         timestamptz,
    closed_at           timestamptz,
    custom_fields       jsonb NOT NULL DEFAULT '{}',
    source              text NOT NULL CHECK (source IN ('web', 'api', 'alarm', 'inspection', 'pm', 'forecast', 'import')),
    rating              smallint CHECK (rating BETWEEN 1 AND 5),
    row_version         integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX work_orders_status ON work_orders (status, created_at DESC);
CREATE INDEX work_orders_assignee ON work_orders (assignee_id, status);
CREATE INDEX work_orders_department ON work_orders (department_id, status);
CREATE INDEX work_orders_requester ON work_orders (requester_id);
CREATE INDEX work_orders_asset ON work_orders (asset_id);
CREATE INDEX work_orders_closed ON work_orders (closed_at) WHERE closed_at IS NOT NULL;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX work_orders_text ON work_orders USING gin ((number || ' ' || title || ' ' || description) gin_trgm_ops);

-- The history of every work order. Append-only: the triggers below refuse any change, for every role.
CREATE TABLE work_order_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    occurred_at     timestamptz NOT NULL,
    actor_id        bigint REFERENCES users (id),
    kind            text NOT NULL,
    from_status     text,
    to_status       text,
    note            text,
    payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX work_order_events_work_order ON work_order_events (work_order_id, id);

CREATE FUNCTION refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'work-order history is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER work_order_events_append_only
    BEFORE UPDATE OR DELETE ON work_order_events
    FOR EACH ROW EXECUTE FUNCTION refuse_history_change();
CREATE TRIGGER work_order_events_no_truncate
    BEFORE TRUNCATE ON work_order_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change();

CREATE TABLE comments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    author_id       bigint NOT NULL REFERENCES users (id),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at      timestamptz NOT NULL
);
CREATE INDEX comments_work_order ON comments (work_order_id, id);

CREATE TABLE attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    file_name       text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type    text NOT NULL,
    size_bytes      integer NOT NULL CHECK (size_bytes > 0),
    sha256          bytea NOT NULL CHECK (length(sha256) = 32),
    content         bytea NOT NULL,
    uploaded_by     bigint NOT NULL REFERENCES users (id),
    uploaded_at     timestamptz NOT NULL
);
CREATE INDEX attachments_work_order ON attachments (work_order_id, id);

-- A retried create with the same key returns the first result instead of making a second work order.
CREATE TABLE idempotency_keys (
    user_id         bigint NOT NULL REFERENCES users (id),
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    work_order_id   bigint REFERENCES work_orders (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
