-- Each person's skills and weekly hours in one row, as every auto-assignment reads them for the whole department.
-- Aggregated from user_skills and user_working_hours on each create, they were about 60 % of the candidates
-- statement's time for a department of 200 technicians. They change seldom (an administrator edits a person), so
-- triggers keep them here when those tables change.
CREATE TABLE user_rosters (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- "skill:level,..." by skill, '' for none (AutoAssign.ParseSkills).
    skills          text NOT NULL,
    -- The weekly hours by weekday and start, null for none (available at any hour).
    hour_weekdays   smallint[],
    hour_starts     time[],
    hour_ends       time[]
);

-- Computes the rows of the given people again from the tables. The people's user rows are locked first, so two
-- transactions changing one person's skills or hours compute in turn: under READ COMMITTED the second statement takes
-- a new snapshot after the lock is granted, and so sees the first's committed change beside its own. Under REPEATABLE
-- READ the upsert of a row the other committed fails to serialize instead of losing it. FOR NO KEY UPDATE does not
-- wait for the key-share locks that foreign keys to users take, so creates never wait here.
CREATE FUNCTION refresh_user_rosters(people bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users WHERE id = ANY (people) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO user_rosters AS r (user_id, skills, hour_weekdays, hour_starts, hour_ends)
    SELECT u.id,
           coalesce((SELECT string_agg(s.skill || ':' || s.level, ',' ORDER BY s.skill) FROM user_skills s WHERE s.user_id = u.id), ''),
           h.weekdays, h.starts, h.ends
    FROM users u
    LEFT JOIN LATERAL (
        SELECT array_agg(w.weekday ORDER BY w.weekday, w.starts_at) AS weekdays,
               array_agg(w.starts_at ORDER BY w.weekday, w.starts_at) AS starts,
               array_agg(w.ends_at ORDER BY w.weekday, w.starts_at) AS ends
        FROM user_working_hours w WHERE w.user_id = u.id) h ON true
    WHERE u.id = ANY (people)
    ORDER BY u.id
    ON CONFLICT (user_id) DO UPDATE
        SET skills = excluded.skills, hour_weekdays = excluded.hour_weekdays, hour_starts = excluded.hour_starts, hour_ends = excluded.hour_ends;
END;
$$;

-- The people a statement touched, from its transition tables.
CREATE FUNCTION note_user_roster_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_user_rosters(ARRAY(SELECT DISTINCT user_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_user_rosters(ARRAY(SELECT DISTINCT user_id FROM old_rows));
    ELSE
        PERFORM refresh_user_rosters(ARRAY(SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows));
    END IF;
    RETURN NULL;
END;
$$;

-- Emptied at once, either table leaves every row to be computed again.
CREATE FUNCTION refresh_all_user_rosters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_user_rosters(ARRAY(SELECT user_id FROM user_rosters));
    RETURN NULL;
END;
$$;

-- A transition table may serve one event only, hence a trigger per event on each table, as for the loads (0037).
DO $$
DECLARE
    source text;
BEGIN
    FOREACH source IN ARRAY ARRAY['user_skills', 'user_working_hours'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION note_user_roster_change()', source || '_roster_insert', source);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION note_user_roster_change()', source || '_roster_update', source);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION note_user_roster_change()', source || '_roster_delete', source);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION refresh_all_user_rosters()', source || '_roster_truncate', source);
    END LOOP;
END;
$$;

SELECT refresh_user_rosters(ARRAY(SELECT user_id FROM user_skills UNION SELECT user_id FROM user_working_hours));
