-- Canned replies: a handlebars text rendered with the ticket's and the
-- requester's fields, and the status, severity or assignee it sets.
-- Desk-wide (no queue, no owner), a queue's, or one person's own.
CREATE TABLE macros (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    queue_id BIGINT REFERENCES queues(id),
    owner_id BIGINT REFERENCES users(id),
    set_status TEXT,
    set_severity INTEGER,
    set_assignee TEXT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (queue_id IS NULL OR owner_id IS NULL)
);
