DROP TABLE ticket_links;
