DROP TABLE ticket_watchers;
ALTER TABLE organisations DROP COLUMN ticket_sharing;
