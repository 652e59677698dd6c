-- Outgoing webhooks and e-mail, both through an outbox in PostgreSQL.
--
-- A delivery row is written by a trigger in the same transaction as the history event (or the notification) that
-- causes it, so every feature that appends history or notifies is covered without calling anything, a receiver that
-- is down never blocks the change, and a change that rolls back never leaves a delivery behind. Dispatchers claim due
-- rows with FOR UPDATE SKIP LOCKED, so any number of app instances deliver each row once.

CREATE TABLE webhook_subscriptions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url             text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    event_kind      text NOT NULL CHECK (event_kind = '*' OR event_kind ~ '^[a-z_]{1,50}$'),
    secret          text NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    description     text CHECK (length(description) <= 200),
    active          boolean NOT NULL DEFAULT true,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_kind ON webhook_subscriptions (event_kind) WHERE active;

CREATE TABLE webhook_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES work_order_events (id),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts in the current round; a redelivery starts a new round.
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_outbox_subscription ON webhook_outbox (subscription_id, id DESC);

CREATE TABLE webhook_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     bigint NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
    attempted_at    timestamptz NOT NULL,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    status_code     integer,
    error           text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Statement-level, so a bulk COPY of history costs one join rather than a lookup per row.
CREATE FUNCTION enqueue_webhook_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued integer;
BEGIN
    INSERT INTO webhook_outbox (subscription_id, event_id, next_attempt_at, created_at)
    SELECT s.id, e.id, e.occurred_at, e.occurred_at
    FROM inserted e
    JOIN webhook_subscriptions s ON s.active AND (s.event_kind = '*' OR s.event_kind = e.kind);
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        PERFORM pg_notify('webhook_outbox', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER work_order_events_webhooks
    AFTER INSERT ON work_order_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION enqueue_webhook_deliveries();

-- One row: whether notifications are also sent by e-mail. The app sets it at start from its SMTP settings.
CREATE TABLE email_settings (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled         boolean NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO email_settings (enabled) VALUES (false);

CREATE TABLE email_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint NOT NULL UNIQUE REFERENCES notifications (id),
    -- The address when the notification was made; a later change of address does not redirect it.
    to_address      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at, id) WHERE status = 'pending';

CREATE FUNCTION enqueue_notification_emails() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    queued integer;
BEGIN
    IF NOT (SELECT enabled FROM email_settings) THEN
        RETURN NULL;
    END IF;
    INSERT INTO email_outbox (notification_id, to_address, next_attempt_at, created_at)
    SELECT n.id, btrim(u.email), n.created_at, n.created_at
    FROM inserted n JOIN users u ON u.id = n.user_id
    WHERE u.active AND btrim(coalesce(u.email, '')) <> '';
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        PERFORM pg_notify('email_outbox', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER notifications_email
    AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION enqueue_notification_emails();
