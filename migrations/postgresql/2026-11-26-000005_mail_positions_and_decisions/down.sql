ALTER TABLE inbound_messages DROP COLUMN decided_at;
ALTER TABLE inbound_messages DROP COLUMN decided_by;
ALTER TABLE organisations DROP COLUMN may_declare_severity;
DROP TABLE mailbox_positions;
