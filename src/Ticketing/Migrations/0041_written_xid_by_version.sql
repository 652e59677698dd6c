-- The ingest found the rows of the assets, PM plans and triggers and alarm rules written since its previous run by
-- their row version (xmin), and that misses rows. A row written inside a savepoint carries the id of the savepoint's
-- subtransaction, but a snapshot lists only the top-level transactions in progress: a row written that way by a
-- transaction in progress when the previous run took its snapshot looks already seen to the next run, and is never
-- copied. These tables, and the users and work orders the ingest now copies by key as well, say instead which
-- top-level transaction last wrote each row, as 0040 does for the occurrences and alarms. Indexed where a run reads
-- the written rows among hundreds of thousands; the work orders are not indexed on it (every update would then write
-- every index, no longer in place), as a run reads only the open ones, by their partial index.
DO $$
DECLARE
    source text;
BEGIN
    FOREACH source IN ARRAY ARRAY['users', 'assets', 'pm_plans', 'pm_triggers', 'alarm_rules', 'work_orders']
    LOOP
        -- Added without a value for the rows already there (no rewrite of the table), then defaulted for new ones.
        EXECUTE format('ALTER TABLE %I ADD COLUMN written_xid xid8', source);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN written_xid SET DEFAULT pg_current_xact_id()', source);
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION note_written_xid()', source || '_written', source);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', source, source || '_written');
        IF source <> 'work_orders' THEN
            EXECUTE format('CREATE INDEX %I ON %I (written_xid)', source || '_written', source);
        END IF;
    END LOOP;
END;
$$;

-- The rows already there have no transaction: the next run copies these tables whole (see 0040).
UPDATE warehouse_changes_purged SET purged_xid = greatest(purged_xid, pg_current_xact_id())
WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM work_orders);
