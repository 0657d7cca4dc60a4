-- Who of the staff has a ticket open now, and whether they are writing a
-- reply: a heartbeat from the ticket's page every few seconds; a row
-- older than half a minute is someone who has gone.
CREATE TABLE ticket_presence (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    replying BOOLEAN NOT NULL,
    seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_presence_seen ON ticket_presence (seen_at);
