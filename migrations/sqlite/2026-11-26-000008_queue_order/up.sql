-- Where a ticket stands in its queue: its next_check_at (the nearest
-- warning or breach), except an unassigned severity 1 ticket that has
-- started to escalate, which goes to the top (at its received_at).
ALTER TABLE tickets ADD COLUMN queue_order_at TIMESTAMP;
UPDATE tickets SET queue_order_at = next_check_at;
CREATE INDEX tickets_queue_order ON tickets (queue_order_at, id);
