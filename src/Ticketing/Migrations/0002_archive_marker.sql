-- The warehouse reads archived work orders incrementally. Timestamps and sequence values are taken before
-- commit, so a reader that goes by them can pass over a row that commits later. The id of the archiving
-- transaction does not have that gap: every transaction below the oldest one still running
-- (pg_snapshot_xmin) has finished, so "archived_xid < xmin" is a set that never grows afterwards.

ALTER TABLE work_orders ADD COLUMN archived_xid xid8;
CREATE INDEX work_orders_archived_xid ON work_orders (archived_xid) WHERE archived_xid IS NOT NULL;

CREATE FUNCTION mark_archived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('closed', 'cancelled') AND (TG_OP = 'INSERT' OR OLD.status NOT IN ('closed', 'cancelled')) THEN
        NEW.archived_xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER work_orders_mark_archived
    BEFORE INSERT OR UPDATE OF status ON work_orders
    FOR EACH ROW EXECUTE FUNCTION mark_archived();
