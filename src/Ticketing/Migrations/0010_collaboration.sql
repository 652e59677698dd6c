-- Sub-tasks and collaborators. A sub-task is a work order of its own (assignee, status, SLA clocks) whose parent_id
-- names the work order it was split from; one level only, so a parent's progress is a count of its direct children.
ALTER TABLE work_orders ADD COLUMN parent_id bigint REFERENCES work_orders (id);
CREATE INDEX work_orders_parent ON work_orders (parent_id) WHERE parent_id IS NOT NULL;

-- People who are neither requester nor assignee but were asked to help: they see the work order and may comment.
CREATE TABLE work_order_collaborators (
    work_order_id   bigint NOT NULL REFERENCES work_orders (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    added_by        bigint NOT NULL REFERENCES users (id),
    added_at        timestamptz NOT NULL,
    PRIMARY KEY (work_order_id, user_id)
);
-- The visibility check asks "does @me collaborate on w?" per work order, which the primary key answers.
