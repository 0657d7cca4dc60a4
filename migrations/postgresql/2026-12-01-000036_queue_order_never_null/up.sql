-- A ticket with nothing to watch had no queue place (NULL), which every
-- urgency order had to sort last with an expression no index serves: a
-- page of every ticket by urgency sorted the whole table (170 ms on SQLite,
-- 420 ms on PostgreSQL at a million tickets, and memory with it). Its
-- place is now the last instant there is, so those orders walk an index.
UPDATE tickets SET queue_order_at = TIMESTAMP '9999-12-31 00:00:00' WHERE queue_order_at IS NULL;
CREATE INDEX tickets_severity_order ON tickets (severity, queue_order_at, id);
