-- Message-ID de-duplication per sender: a stranger's mail with a chosen
-- Message-ID must not make a real contact's later mail a "duplicate".
ALTER TABLE inbound_messages ADD COLUMN dedup_key TEXT;
UPDATE inbound_messages SET dedup_key = message_id || ' ' || lower(coalesce(from_address, ''));
ALTER TABLE inbound_messages ALTER COLUMN dedup_key SET NOT NULL;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_dedup_key_key UNIQUE (dedup_key);
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_message_id_key;
CREATE INDEX inbound_messages_message_id ON inbound_messages (message_id);

-- Rate limits counted from the audit log (requests to reopen).
CREATE INDEX audit_log_actor_action ON audit_log (actor_id, action, at);

-- Queues a customer may choose when raising a ticket.
ALTER TABLE queues ADD COLUMN customer_selectable BOOLEAN NOT NULL DEFAULT FALSE;

-- What customers are told of an outage; the description stays the staff's.
ALTER TABLE outages ADD COLUMN public_description TEXT;
