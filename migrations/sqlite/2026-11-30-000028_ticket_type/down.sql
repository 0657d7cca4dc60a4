ALTER TABLE tickets DROP COLUMN ticket_type;
