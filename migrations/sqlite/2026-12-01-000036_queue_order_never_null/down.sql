DROP INDEX tickets_severity_order;
UPDATE tickets SET queue_order_at = NULL WHERE queue_order_at = '9999-12-31 00:00:00';
