-- Major incidents: the tickets staff link to an outage, from any
-- organisation. A public update on the outage is also a public reply on
-- each linked ticket still open; resolving it may resolve them all with one
-- note. Linking changes no SLA clock.
CREATE TABLE outage_tickets (
    outage_id BIGINT NOT NULL REFERENCES outages(id),
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    linked_by BIGINT REFERENCES users(id),
    linked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (outage_id, ticket_id)
);
CREATE INDEX outage_tickets_ticket ON outage_tickets (ticket_id);
