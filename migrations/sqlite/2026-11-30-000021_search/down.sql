DROP TRIGGER ticket_search_attachment;
DROP TRIGGER ticket_search_event;
DROP TRIGGER ticket_search_forget;
DROP TRIGGER ticket_search_subject;
DROP TRIGGER ticket_search_ticket;
DROP TABLE ticket_search;
