-- The orders the queue and the ticket lists can be read in, each with an
-- index, so a page costs the same on a desk of a million tickets as on a
-- new one: newest or oldest first, latest activity first, and severity
-- then urgency.
CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_severity_order ON tickets (severity, queue_order_at, id);
