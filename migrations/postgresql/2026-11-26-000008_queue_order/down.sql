DROP INDEX tickets_queue_order;
ALTER TABLE tickets DROP COLUMN queue_order_at;
