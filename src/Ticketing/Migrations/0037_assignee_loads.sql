-- Each person's open work and load (open work weighted by priority, as Assign.Weight), read by every auto-assignment
-- and by the reassign list. Counted there, it read every candidate's open work on each create: 20,000 index entries
-- for a department of 200 technicians, more than half of a create's time in PostgreSQL. It is kept here instead,
-- without a row that writers would wait on: statement triggers on work_orders append what each statement changed, per
-- person, to assignee_load_changes (inserts only, so two writers never wait for each other), and a job folds those
-- rows into assignee_loads now and then (fold_assignee_load_changes). A person's load is their row in assignee_loads
-- plus their rows in assignee_load_changes (the view assignee_loads_now), read in one snapshot: the fold deletes the
-- changes and adds them to assignee_loads in one transaction, so a reader sees either both or neither.
CREATE TABLE assignee_loads (
    user_id     bigint PRIMARY KEY,
    open_count  integer NOT NULL,
    load        integer NOT NULL
);

CREATE TABLE assignee_load_changes (
    user_id     bigint NOT NULL,
    open_count  integer NOT NULL,
    load        integer NOT NULL
);
-- Emptied every few seconds: vacuumed after a thousand deleted rows rather than a fifth of the table.
ALTER TABLE assignee_load_changes SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);

-- Open work: with its assignee and not yet resolved.
CREATE FUNCTION note_assignee_load_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO assignee_load_changes (user_id, open_count, load)
        SELECT assignee_id, count(*), sum(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)
        FROM new_rows
        WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
        GROUP BY assignee_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO assignee_load_changes (user_id, open_count, load)
        SELECT assignee_id, -count(*), -sum(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)
        FROM old_rows
        WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
        GROUP BY assignee_id;
    ELSE
        INSERT INTO assignee_load_changes (user_id, open_count, load)
        SELECT c.user_id, sum(c.open_count), sum(c.load)
        FROM (SELECT assignee_id, -1, -(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)
              FROM old_rows
              WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
              UNION ALL
              SELECT assignee_id, 1, CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END
              FROM new_rows
              WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
             ) c (user_id, open_count, load)
        GROUP BY c.user_id
        HAVING sum(c.open_count) <> 0 OR sum(c.load) <> 0;
    END IF;
    RETURN NULL;
END;
$$;

-- A transition table may serve one event only, hence three triggers. The bulk history load (Ingest/HistoryBulkLoad)
-- turns the insert trigger off and appends the loaded rows' changes itself.
CREATE TRIGGER work_orders_load_insert AFTER INSERT ON work_orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_assignee_load_change();
CREATE TRIGGER work_orders_load_update AFTER UPDATE ON work_orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION note_assignee_load_change();
CREATE TRIGGER work_orders_load_delete AFTER DELETE ON work_orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION note_assignee_load_change();

CREATE FUNCTION clear_assignee_loads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM assignee_load_changes;
    DELETE FROM assignee_loads;
    RETURN NULL;
END;
$$;
CREATE TRIGGER work_orders_load_truncate AFTER TRUNCATE ON work_orders FOR EACH STATEMENT EXECUTE FUNCTION clear_assignee_loads();

CREATE VIEW assignee_loads_now AS
SELECT user_id, sum(open_count)::integer AS open_count, sum(load)::integer AS load
FROM (SELECT user_id, open_count, load FROM assignee_loads
      UNION ALL
      SELECT user_id, open_count, load FROM assignee_load_changes) c
GROUP BY user_id;

-- Moves the changes into assignee_loads; returns how many change rows it folded. Two folds at once are safe: a change
-- row is deleted, and so added, by one of them only (the other waits on its row lock and then skips it), and both
-- update assignee_loads in user order, so neither waits on the other in a cycle.
CREATE FUNCTION fold_assignee_load_changes() RETURNS bigint LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM assignee_load_changes RETURNING user_id, open_count, load),
    sums AS (SELECT user_id, sum(open_count)::integer AS open_count, sum(load)::integer AS load, count(*) AS rows
             FROM gone GROUP BY user_id),
    kept AS (
        INSERT INTO assignee_loads AS a (user_id, open_count, load)
        SELECT user_id, open_count, load FROM sums ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET open_count = a.open_count + excluded.open_count, load = a.load + excluded.load)
    SELECT coalesce(sum(rows), 0)::bigint FROM sums;
$$;

INSERT INTO assignee_loads (user_id, open_count, load)
SELECT assignee_id, count(*), sum(CASE priority WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 1 END)
FROM work_orders
WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'on_hold', 'awaiting_feedback', 'needs_collaboration')
GROUP BY assignee_id;

-- Read by nothing now: the loads were its only reader, and every write of work_orders kept it.
DROP INDEX work_orders_open_by_assignee;
