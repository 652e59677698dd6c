-- Sessions that can be revoked, and accounts an administrator runs.
--
-- The security stamp is copied into every cookie and token at sign-in and compared with this column on every
-- authenticated request (one primary-key read). Anything that must end a user's sessions at once replaces it:
-- deactivation, a role or department change, a password change or reset, signing out.
ALTER TABLE users
    ADD COLUMN security_stamp        uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Set by an administrator's password reset: the temporary password signs in only to choose a new one.
    ADD COLUMN must_change_password  boolean NOT NULL DEFAULT false,
    ADD COLUMN row_version           integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at            timestamptz NOT NULL DEFAULT now();

-- One row per change of an account: who did it, when, and what (payload: the fields before and after). Never a
-- password or its hash.
CREATE TABLE user_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    occurred_at     timestamptz NOT NULL,
    actor_id        bigint REFERENCES users (id),
    kind            text NOT NULL CHECK (kind IN ('edited', 'deactivated', 'reactivated', 'password_reset', 'password_changed', 'signed_out', 'schedule_changed')),
    payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX user_events_user ON user_events (user_id, id);

CREATE TRIGGER user_events_append_only BEFORE UPDATE OR DELETE ON user_events
    FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
CREATE TRIGGER user_events_no_truncate BEFORE TRUNCATE ON user_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
