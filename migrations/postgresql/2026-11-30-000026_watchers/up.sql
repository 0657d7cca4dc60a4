-- Watchers: customer contacts of a ticket's organisation who hear of its
-- public changes as its requester does. Added from the Cc of a customer's
-- mail, or by staff or the requester; `source` says which.
CREATE TABLE ticket_watchers (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    source TEXT NOT NULL CHECK (source IN ('cc', 'staff', 'requester')),
    added_by BIGINT REFERENCES users(id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
-- "The tickets I watch", for a customer's list under own-and-watched sharing.
CREATE INDEX ticket_watchers_user ON ticket_watchers (user_id, ticket_id);

-- Who of an organisation's contacts sees which of its tickets:
-- 'organisation' (every contact sees every ticket, as before) or 'own'
-- (a contact sees the tickets they raised and the ones they watch).
ALTER TABLE organisations ADD COLUMN ticket_sharing TEXT NOT NULL DEFAULT 'organisation'
    CHECK (ticket_sharing IN ('organisation', 'own'));
