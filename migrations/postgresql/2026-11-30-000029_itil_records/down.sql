DROP TABLE itil_records;
DROP TABLE itil_events;
