-- How each mailbox's poller is doing: written after every poll by the
-- process that polled, read by metrics and the admin page. `notified_at`
-- is when staff were told of the failure going on now (NULL: not told).
CREATE TABLE mailbox_health (
    mailbox TEXT PRIMARY KEY,
    last_success_at TIMESTAMP,
    last_failure_at TIMESTAMP,
    failing_since TIMESTAMP,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    notified_at TIMESTAMP
);
