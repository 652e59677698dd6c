-- What a transaction did to a table: inserted, updated, or deleted (truncate counts as delete). A warehouse table
-- copied by key takes the rows of the tables it follows by their row versions, which shows inserts and updates but not
-- deletes; and it looks up one row of each other table it reads (a parent: the plan, template and trigger of a PM
-- occurrence), so rows inserted there change none of its rows already copied. A plant joining with new plans then
-- does not make the ingest copy every occurrence again. Rows noted before this count as deletes.
ALTER TABLE warehouse_changes ADD COLUMN kind text NOT NULL DEFAULT 'delete' CHECK (kind IN ('insert', 'update', 'delete'));
DROP INDEX warehouse_changes_xid;
CREATE INDEX warehouse_changes_xid ON warehouse_changes (xid, source, kind);

-- One row per transaction, table and kind: the rest of a transaction's statements find theirs by the index.
CREATE OR REPLACE FUNCTION note_warehouse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    done text := CASE TG_OP WHEN 'INSERT' THEN 'insert' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END;
BEGIN
    INSERT INTO warehouse_changes (source, kind)
    SELECT TG_TABLE_NAME, done
    WHERE NOT EXISTS (SELECT 1 FROM warehouse_changes c WHERE c.xid = pg_current_xact_id() AND c.source = TG_TABLE_NAME AND c.kind = done);
    RETURN NULL;
END;
$$;
