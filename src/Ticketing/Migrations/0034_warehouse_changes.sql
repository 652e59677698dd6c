-- What changed in the tables the warehouse copies whole (the dimensions, the PM programme, the inspections): a row per
-- transaction and table it wrote, noted by statement triggers that fire in every role, bulk loads included. An ingest
-- copies such a warehouse table again only when a transaction its previous snapshot did not see wrote one of the
-- tables its query reads, so a run with nothing new copies none of them.
CREATE TABLE warehouse_changes (
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    source      text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX warehouse_changes_xid ON warehouse_changes (xid, source);
CREATE INDEX warehouse_changes_changed_at ON warehouse_changes (changed_at);

-- One row. The ingest deletes the rows older than a day and records here the newest transaction among them: a run
-- whose previous snapshot was taken before that transaction ended cannot know what changed, and copies every table
-- whole. (A warehouse filled before the triggers existed is of an older schema version, so it is refilled whole.)
CREATE TABLE warehouse_changes_purged (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    purged_xid  xid8
);
INSERT INTO warehouse_changes_purged DEFAULT VALUES;

-- One row per transaction and table: the rest of a transaction's statements find theirs by the index.
CREATE FUNCTION note_warehouse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO warehouse_changes (source)
    SELECT TG_TABLE_NAME
    WHERE NOT EXISTS (SELECT 1 FROM warehouse_changes WHERE xid = pg_current_xact_id() AND source = TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    source text;
BEGIN
    FOREACH source IN ARRAY ARRAY[
        'departments', 'users', 'assets', 'templates', 'pm_plans', 'pm_triggers', 'pm_occurrences', 'meters', 'meter_readings',
        'work_orders', 'inspection_routes', 'inspection_rounds', 'inspection_items', 'inspection_results', 'inspection_findings']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION note_warehouse_change()',
            source || '_warehouse_change', source);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', source, source || '_warehouse_change');
    END LOOP;
END;
$$;

-- The open work the ingest copies whole in every run (it ages on the clock, so it is never skipped): read by this
-- index instead of a scan of every work order ever made.
CREATE INDEX work_orders_open ON work_orders (id) WHERE status NOT IN ('closed', 'cancelled');
