-- Indexes for the orders the queue and the ticket lists are read in, so a
-- page costs about the same on a desk of a million tickets as on a new one:
-- newest or oldest first, latest activity first; and open work found by its
-- status (`status IN` the active ones) rather than by reading every ticket
-- ever raised. (Urgency and severity orders sort their NULLs last by an
-- expression no index serves: over open work that is a short sort; over
-- every ticket a long one, measured in BENCHMARKS.md.)
CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_status_order ON tickets (status, queue_order_at, id);
