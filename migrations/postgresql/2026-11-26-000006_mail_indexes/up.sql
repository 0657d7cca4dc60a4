-- Every inbound message asks how many automatic replies its sender had in
-- the last hour; every notification looks for the ticket's latest mail.
-- Without these, both scan tables that only grow.
CREATE INDEX outbox_recipient ON outbox (to_address, created_at);
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX inbound_messages_ticket ON inbound_messages (ticket_id);
