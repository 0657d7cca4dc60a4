ALTER TABLE outages DROP COLUMN proposed_end_at;
ALTER TABLE outages DROP COLUMN draft;
DROP TABLE alerts;
