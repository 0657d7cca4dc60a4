DROP TABLE outage_updates;
