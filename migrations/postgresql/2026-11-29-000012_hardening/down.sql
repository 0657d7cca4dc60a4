ALTER TABLE outages DROP COLUMN public_description;
ALTER TABLE queues DROP COLUMN customer_selectable;
DROP INDEX audit_log_actor_action;
DROP INDEX inbound_messages_message_id;
DELETE FROM inbound_messages a USING inbound_messages b WHERE a.message_id = b.message_id AND a.id > b.id;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_message_id_key UNIQUE (message_id);
ALTER TABLE inbound_messages DROP COLUMN dedup_key;
