DROP INDEX tickets_severity_order;
DROP INDEX tickets_updated;
DROP INDEX tickets_created;
