-- A create takes its rule's turn on the cursor in a short transaction of its own, committed before the create's own
-- commit, so creates under one rule no longer wait for each other's commits. The cursor now keeps, beside each recent
-- assignment, the transaction of the create that made it: a create reading loads counts a recent assignment whose
-- transaction its snapshot does not see yet (still running, or committed since) and leaves out one that rolled back.
ALTER TABLE assignment_rule_cursors
    ADD COLUMN recent_xids xid8[] NOT NULL DEFAULT '{}';

-- The recent lists are only a shortcut: emptied, a create that cannot catch up from them reads the loads again.
UPDATE assignment_rule_cursors SET recent_users = '{}', recent_weights = '{}';
