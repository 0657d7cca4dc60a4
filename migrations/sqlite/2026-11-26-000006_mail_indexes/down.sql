DROP INDEX inbound_messages_ticket;
DROP INDEX outbox_ticket;
DROP INDEX outbox_recipient;
