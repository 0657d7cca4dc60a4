-- Message-ID de-duplication per sender: a stranger's mail with a chosen
-- Message-ID must not make a real contact's later mail a "duplicate".
-- SQLite cannot drop a column's UNIQUE, so the table is rebuilt; nothing
-- references it by key.
CREATE TABLE inbound_messages_new (
    id INTEGER PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
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
INSERT INTO inbound_messages_new
    (id, message_id, dedup_key, via, received_at, from_address, subject, outcome, reason, ticket_id, raw, decided_by, decided_at)
SELECT id, message_id, message_id || ' ' || lower(coalesce(from_address, '')), via, received_at, from_address, subject,
       outcome, reason, ticket_id, raw, decided_by, decided_at
FROM inbound_messages;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_new RENAME TO inbound_messages;
CREATE INDEX inbound_messages_outcome ON inbound_messages (outcome, received_at);
CREATE INDEX inbound_messages_ticket ON inbound_messages (ticket_id);
CREATE INDEX inbound_messages_message_id ON inbound_messages (message_id);

-- Rate limits counted from the audit log (requests to reopen).
CREATE INDEX audit_log_actor_action ON audit_log (actor_id, action, at);

-- Queues a customer may choose when raising a ticket.
ALTER TABLE queues ADD COLUMN customer_selectable BOOLEAN NOT NULL DEFAULT 0;

-- What customers are told of an outage; the description stays the staff's.
ALTER TABLE outages ADD COLUMN public_description TEXT;
