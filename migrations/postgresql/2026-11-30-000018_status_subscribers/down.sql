ALTER TABLE outages DROP COLUMN end_noticed_at;
ALTER TABLE outages DROP COLUMN start_noticed_at;
ALTER TABLE outages DROP COLUMN reminder_sent_at;
DROP TABLE status_subscriber_services;
DROP TABLE status_subscribers;
