DROP TABLE outage_tickets;
