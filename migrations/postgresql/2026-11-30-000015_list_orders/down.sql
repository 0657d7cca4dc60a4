DROP INDEX tickets_status_order;
DROP INDEX tickets_updated;
DROP INDEX tickets_created;
