ALTER TABLE outages DROP COLUMN public_description;
ALTER TABLE queues DROP COLUMN customer_selectable;
DROP INDEX audit_log_actor_action;
CREATE TABLE inbound_messages_old (
    id INTEGER PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    via TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    from_address TEXT,
    subject TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    ticket_id BIGINT REFERENCES tickets(id),
    raw BLOB NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP
);
INSERT OR IGNORE INTO inbound_messages_old
    (id, message_id, via, received_at, from_address, subject, outcome, reason, ticket_id, raw, decided_by, decided_at)
SELECT id, message_id, via, received_at, from_address, subject, outcome, reason, ticket_id, raw, decided_by, decided_at
FROM inbound_messages ORDER BY id;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_old RENAME TO inbound_messages;
CREATE INDEX inbound_messages_outcome ON inbound_messages (outcome, received_at);
CREATE INDEX inbound_messages_ticket ON inbound_messages (ticket_id);
