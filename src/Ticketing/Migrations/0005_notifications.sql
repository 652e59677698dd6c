-- In-app notifications: one row per recipient. Every insert also raises a PostgreSQL notification on the
-- channel 'workorder_notifications' with the recipient's id, so open pages can refresh their unread count live.
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    work_order_id   bigint REFERENCES work_orders (id),
    kind            text NOT NULL CHECK (kind ~ '^[a-z_]{1,50}$'),
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    created_at      timestamptz NOT NULL,
    read_at         timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE FUNCTION announce_notification() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('workorder_notifications', NEW.user_id::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER notifications_announce
    AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION announce_notification();
