-- Every message intake has seen, once per Message-ID: what became of it,
-- and the original bytes, kept so nothing accepted is lost and quarantined
-- mail can be reviewed.
CREATE TABLE inbound_messages (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    via TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    from_address TEXT,
    subject TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    ticket_id BIGINT REFERENCES tickets(id),
    raw BYTEA NOT NULL
);
CREATE INDEX inbound_messages_outcome ON inbound_messages (outcome, received_at);
