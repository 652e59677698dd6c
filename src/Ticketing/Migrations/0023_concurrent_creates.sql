-- Work-order numbers (WO-YYYY-NNNNNN) come from one PostgreSQL sequence per year, work_order_numbers.yYYYY, made on
-- first use. The former per-year counter row was taken with INSERT ... ON CONFLICT DO UPDATE inside the create's
-- transaction, so every create held that row until its commit and creates ran one at a time. nextval takes no lock
-- that lasts beyond the call and is not rolled back: numbers stay unique and in order within a year, but a create
-- that rolls back after drawing its number leaves a gap.
CREATE SCHEMA work_order_numbers;

-- The sequence of a year, made when the year's first number is drawn. Two transactions making it at the same moment:
-- the second waits on the catalog's unique index until the first commits, then fails with a unique violation (or
-- sees it as a duplicate), and uses the sequence the first made. The application makes it beforehand on a connection
-- of its own (WorkOrderNumbers.EnsureYearAsync), so that no create's transaction holds it uncommitted.
CREATE FUNCTION work_order_number_sequence(p_year integer) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('work_order_numbers.y%s', p_year);
    found regclass := to_regclass(name);
BEGIN
    IF p_year NOT BETWEEN 1 AND 9999 THEN
        RAISE EXCEPTION 'a work-order number year must be from 1 to 9999, not %', p_year;
    END IF;
    IF found IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %s AS bigint MINVALUE 1 NO CYCLE', name);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL;
        END;
        found := to_regclass(name);
    END IF;
    RETURN found;
END $$;

-- The next number of a year, formatted as the application shows it: at least six digits.
CREATE FUNCTION work_order_number(p_year integer) RETURNS text
LANGUAGE sql AS $$
    SELECT format('WO-%s-%s', p_year, CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END)
    FROM nextval(work_order_number_sequence(p_year)) AS n
$$;

-- Takes p_count consecutive numbers of a year for a bulk writer (generator, importer) and returns the first. The
-- nextval and the setval are two steps, so the caller must hold a lock on work_orders that keeps live inserts out
-- (SHARE ROW EXCLUSIVE or stronger): a live create draws its number inside its INSERT, which has taken ROW EXCLUSIVE
-- on work_orders before it draws. Refused without that lock, so a caller cannot forget it.
CREATE FUNCTION work_order_numbers_take(p_year integer, p_count bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s regclass;
    first bigint;
BEGIN
    IF p_count < 1 THEN
        RAISE EXCEPTION 'take at least one work-order number, not %', p_count;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = 'work_orders'::regclass AND granted
          AND mode IN ('ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')) THEN
        RAISE EXCEPTION 'taking a block of work-order numbers needs work_orders locked in SHARE ROW EXCLUSIVE mode or stronger';
    END IF;
    s := work_order_number_sequence(p_year);
    first := nextval(s);
    PERFORM setval(s, first + p_count - 1);
    RETURN first;
END $$;

-- Each year's sequence starts after the highest number that year has: the counter, or a number already written in the
-- WO-YYYY-N form if one is higher (a number a bulk writer wrote without the counter).
DO $$
DECLARE
    y record;
BEGIN
    FOR y IN
        SELECT year, max(last_value) AS last_value
        FROM (
            SELECT year, last_value::bigint FROM work_order_counters
            UNION ALL
            SELECT m[1]::integer, m[2]::bigint
            FROM work_orders, regexp_match(number, '^WO-(\d{1,4})-(\d{1,18})$') AS m
            WHERE number LIKE 'WO-%') taken
        WHERE year BETWEEN 1 AND 9999
        GROUP BY year
    LOOP
        IF y.last_value > 0 THEN
            PERFORM setval(work_order_number_sequence(y.year), y.last_value);
        END IF;
    END LOOP;
END $$;

DROP TABLE work_order_counters;

-- Each year's last number handed out (or taken by a bulk writer), for people and tests to read.
-- (The CASE guards the cast whichever order the planner checks the conditions in.)
CREATE VIEW work_order_number_years AS
SELECT CASE WHEN sequencename ~ '^y[0-9]{1,4}$' THEN substr(sequencename, 2)::integer END AS year,
       coalesce(last_value, 0) AS last_value
FROM pg_sequences
WHERE schemaname = 'work_order_numbers' AND sequencename ~ '^y[0-9]{1,4}$';

-- Auto-assignment reads the people's loads before it locks its rule's cursor, then adds what the rule assigned since:
-- the cursor counts its assignments (version) and keeps the most recent (up to 64) with their load weights, so the
-- lock that makes creates under one rule choose one at a time no longer covers reading every load.
ALTER TABLE assignment_rule_cursors
    ADD COLUMN version bigint NOT NULL DEFAULT 0,
    ADD COLUMN recent_users bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN recent_weights integer[] NOT NULL DEFAULT '{}';
