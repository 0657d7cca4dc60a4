DROP TABLE ticket_presence;
