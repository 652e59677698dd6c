-- Alarm histories exported by another system (a SCADA or BMS alarm journal) are imported as what they are: episodes
-- and their raise and clear events, which raised no work order ('imported'), received over the import channel. Their
-- rules are inactive per-asset rules, so no live event is ever judged by one.
ALTER TABLE alarm_episodes DROP CONSTRAINT alarm_episodes_outcome_check;
ALTER TABLE alarm_episodes ADD CONSTRAINT alarm_episodes_outcome_check
    CHECK (outcome IN ('work_order', 'attached', 'rejected_back', 'suppressed', 'rate_limited', 'refused', 'imported'));
ALTER TABLE alarm_events DROP CONSTRAINT alarm_events_channel_check;
ALTER TABLE alarm_events ADD CONSTRAINT alarm_events_channel_check CHECK (channel IN ('api', 'mqtt', 'import'));
