-- Every app instance keeps the security stamps it has read in memory, so the check on each request costs no round
-- trip. Whatever replaces a user's stamp, deactivates, reactivates or deletes them announces it on 'user_sessions'
-- with the user's id, in the same transaction: every listening instance forgets that user the moment it commits.
-- A trigger rather than the app's code paths, so a change made by hand in psql ends the sessions as well.
CREATE FUNCTION announce_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('user_sessions', OLD.id::text);
    ELSE
        PERFORM pg_notify('user_sessions', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_session_changed
    AFTER UPDATE OF security_stamp, active ON users
    FOR EACH ROW
    WHEN (OLD.security_stamp IS DISTINCT FROM NEW.security_stamp OR OLD.active IS DISTINCT FROM NEW.active)
    EXECUTE FUNCTION announce_session_change();

CREATE TRIGGER users_session_deleted
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION announce_session_change();
