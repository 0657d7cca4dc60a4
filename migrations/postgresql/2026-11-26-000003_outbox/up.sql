-- Notifications waiting to leave, written in the same transaction as the
-- event that caused them. `context` is the template's data (JSON); the
-- message is rendered when delivered. A delivery claims a row first and
-- records the attempt; a row is never sent twice: `sent_at` once set is
-- final, and a claim that expired without a confirmation is set aside as in
-- doubt for an operator, not resent.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT REFERENCES tickets(id),
    kind TEXT NOT NULL,
    to_address TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    in_reply_to TEXT,
    context TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    sent_at TIMESTAMP,
    in_doubt BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
