-- Events naming an asset the register does not know (an unknown code, a device id no asset or several assets carry)
-- are kept too, append-only and unique per (source, event id) like every event, with the identifier as it was sent,
-- so an administrator sees what to register or which mapping to fix, and a replay changes nothing.
ALTER TABLE alarm_events ALTER COLUMN asset_id DROP NOT NULL;
ALTER TABLE alarm_events
    ADD COLUMN asset_code text CHECK (length(asset_code) BETWEEN 1 AND 100),
    ADD COLUMN device_id text CHECK (length(device_id) BETWEEN 1 AND 100),
    ADD CONSTRAINT alarm_events_unknown_asset CHECK (
        (asset_id IS NOT NULL) OR (outcome IN ('unknown_asset', 'ambiguous_device') AND (asset_code IS NOT NULL) <> (device_id IS NOT NULL)));
CREATE INDEX alarm_events_unknown ON alarm_events (source_id, coalesce(asset_code, device_id), received_at DESC) WHERE asset_id IS NULL;

-- A round's assignment tells the inspector, once per assignment: assignment counts the round's assignments (the
-- generator's choice is the first, each manual reassignment the next), and a notification of a round's assignment is
-- unique per (round, assignment), however many generators or retries make it.
ALTER TABLE inspection_rounds ADD COLUMN assignment integer NOT NULL DEFAULT 0 CHECK (assignment >= 0);
ALTER TABLE notifications
    ADD COLUMN round_id bigint REFERENCES inspection_rounds (id),
    ADD COLUMN round_assignment integer,
    ADD CONSTRAINT notifications_round_assignment_of_round CHECK (round_assignment IS NULL OR round_id IS NOT NULL);
CREATE UNIQUE INDEX notifications_round_assignment ON notifications (round_id, round_assignment) WHERE round_assignment IS NOT NULL;
