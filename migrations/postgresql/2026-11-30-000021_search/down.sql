DROP TRIGGER ticket_search_attachment ON attachments;
DROP TRIGGER ticket_search_event ON ticket_events;
DROP TRIGGER ticket_search_ticket ON tickets;
DROP FUNCTION ticket_search_attachment();
DROP FUNCTION ticket_search_event();
DROP FUNCTION ticket_search_ticket();
DROP TABLE ticket_search;
