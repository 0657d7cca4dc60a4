-- Links between two tickets, read from `from_ticket_id`: it is the parent
-- of, is related to, was caused by, or is a duplicate of `to_ticket_id`.
-- Related links are kept once, from the lower id.
CREATE TABLE ticket_links (
    from_ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    to_ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    kind TEXT NOT NULL CHECK (kind IN ('parent', 'related', 'caused_by', 'duplicate_of')),
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (from_ticket_id, to_ticket_id, kind),
    CHECK (from_ticket_id <> to_ticket_id)
);
CREATE INDEX ticket_links_to ON ticket_links (to_ticket_id);
