-- What the PM generator keeps per plan and asset beyond 0014, and how assets join plans for their type.

-- starts_at: due dates before it are not owed (the plan began, or the asset joined it, then). NULL until the generator
-- first looks at the row and stamps its own clock, so rows the trigger below makes count from the generator's time.
-- meter_reading_id: the last meter reading the generator looked at; readings after it are the next batch.
ALTER TABLE pm_schedules
    ADD COLUMN starts_at        timestamptz,
    ADD COLUMN meter_reading_id bigint;

-- A plan for a type under a location covers the assets of that type below the location, including those added or
-- moved there later; an asset moved out or retyped leaves it. Done here, when the asset changes, so the generator's
-- idle pass stays one index range on pm_schedules instead of a join over every asset.
CREATE FUNCTION pm_follow_subtree(root bigint) RETURNS void LANGUAGE sql AS $$
    WITH RECURSIVE sub AS (
        SELECT id FROM assets WHERE id = root
        UNION ALL SELECT a.id FROM assets a JOIN sub ON a.parent_id = sub.id),
    up AS (
        SELECT a.id AS asset_id, a.parent_id AS ancestor_id FROM assets a JOIN sub ON sub.id = a.id WHERE a.parent_id IS NOT NULL
        UNION ALL SELECT up.asset_id, p.parent_id FROM up JOIN assets p ON p.id = up.ancestor_id WHERE p.parent_id IS NOT NULL),
    member AS (
        SELECT p.id AS plan_id, a.id AS asset_id
        FROM sub JOIN assets a ON a.id = sub.id
        JOIN pm_plans p ON p.asset_type = a.asset_type
        WHERE EXISTS (SELECT 1 FROM up WHERE up.asset_id = a.id AND up.ancestor_id = p.location_asset_id)),
    gone AS (
        DELETE FROM pm_schedules s USING pm_plans p, sub
        WHERE s.plan_id = p.id AND p.asset_type IS NOT NULL AND s.asset_id = sub.id
          AND NOT EXISTS (SELECT 1 FROM member m WHERE m.plan_id = s.plan_id AND m.asset_id = s.asset_id))
    INSERT INTO pm_schedules (plan_id, asset_id, next_check_at)
    SELECT plan_id, asset_id, '-infinity' FROM member
    ON CONFLICT (plan_id, asset_id) DO NOTHING;
$$;

CREATE FUNCTION pm_follow_asset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.asset_type IS NOT NULL AND EXISTS (SELECT 1 FROM pm_plans WHERE asset_type = NEW.asset_type) THEN
            PERFORM pm_follow_subtree(NEW.id);
        END IF;
    ELSIF NEW.parent_id IS DISTINCT FROM OLD.parent_id OR NEW.asset_type IS DISTINCT FROM OLD.asset_type THEN
        IF EXISTS (SELECT 1 FROM pm_plans WHERE asset_type IS NOT NULL) THEN
            PERFORM pm_follow_subtree(NEW.id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_follow_pm_plans
    AFTER INSERT OR UPDATE OF parent_id, asset_type ON assets
    FOR EACH ROW EXECUTE FUNCTION pm_follow_asset();
