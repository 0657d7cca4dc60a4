-- Full-text search (FTS5, built into the bundled SQLite): one document per
-- ticket, its rowid the ticket's id. Columns: the subject; the public text
-- (the description, the customer's messages, the desk's replies); the
-- internal notes, which only staff search; the names a desk looks for
-- (the reference, organisation, requester and attachment names); and
-- `tenant`, the token 'o<organisation id>', so a customer's search is
-- narrowed to their organisation inside the index itself.
CREATE VIRTUAL TABLE ticket_search USING fts5(
    subject, public, internal, names, tenant,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- A ticket's document as the store holds it now: what the index is built
-- from, and what a search reads for tickets the index has not caught up
-- with yet.
CREATE VIEW ticket_documents AS
SELECT t.id AS ticket_id, t.organisation_id, t.created_at, t.subject,
    coalesce((SELECT group_concat(body, char(10)) FROM (
        SELECT body FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL ORDER BY e.seq)), '') AS public,
    coalesce((SELECT group_concat(body, char(10)) FROM (
        SELECT body FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL ORDER BY e.seq)), '') AS internal,
    t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email
        || coalesce((SELECT ' ' || group_concat(filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), '') AS names
FROM tickets t
JOIN organisations o ON o.id = t.organisation_id
JOIN users u ON u.id = t.requester_id;

-- Tickets whose document changed since the index last read it. Triggers
-- add a ticket here inside the statement that writes the ticket, event,
-- attachment or name, so the mark commits with the change; the indexer
-- takes marked tickets in batches, and a search reads marked tickets'
-- documents from the store, so it never misses a committed reply. (Writing
-- FTS5 in every event's own transaction cost ticket creation 42–56 % of
-- its throughput: docs/architecture.md, §7.)
CREATE TABLE search_queue (
    ticket_id INTEGER PRIMARY KEY NOT NULL
);

CREATE TRIGGER ticket_search_ticket AFTER INSERT ON tickets BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) VALUES (new.id);
END;

CREATE TRIGGER ticket_search_moved AFTER UPDATE OF subject, organisation_id, requester_id ON tickets BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) VALUES (new.id);
END;

CREATE TRIGGER ticket_search_forget AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_search WHERE rowid = old.id;
    DELETE FROM search_queue WHERE ticket_id = old.id;
END;

CREATE TRIGGER ticket_search_event AFTER INSERT ON ticket_events
WHEN new.body IS NOT NULL AND new.body <> '' BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) VALUES (new.ticket_id);
END;

CREATE TRIGGER ticket_search_attachment AFTER INSERT ON attachments BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) VALUES (new.ticket_id);
END;

CREATE TRIGGER ticket_search_organisation AFTER UPDATE OF name ON organisations BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) SELECT id FROM tickets WHERE organisation_id = new.id;
END;

CREATE TRIGGER ticket_search_requester AFTER UPDATE OF name, email ON users BEGIN
    INSERT OR IGNORE INTO search_queue (ticket_id) SELECT id FROM tickets WHERE requester_id = new.id;
END;

-- The tickets there already.
INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant)
SELECT ticket_id, subject, public, internal, names, 'o' || organisation_id FROM ticket_documents;
