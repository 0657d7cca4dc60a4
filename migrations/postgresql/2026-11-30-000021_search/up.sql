-- Full-text search: one document per ticket. The subject, public text
-- (description, the customer's messages, the desk's replies) and internal
-- notes go through the English configuration (stemmed); the names a desk
-- looks for (the reference, organisation, requester, attachment names)
-- through the simple one, kept as written. Weights tell them apart: A the
-- subject, B the names, C the public text, D the internal notes, so a
-- customer's query asks for A, B and C only and never matches, excludes or
-- ranks by a note. Text is split into runs of letters and digits first, as
-- SQLite's tokeniser splits it, so both stores find the same words.
CREATE FUNCTION ticket_search_document(organisation_id bigint, subject text, names text, public text, internal text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english', regexp_replace(subject, '[^[:alnum:]]+', ' ', 'g')), 'A')
        || setweight(to_tsvector('simple', regexp_replace(names, '[^[:alnum:]]+', ' ', 'g')), 'B')
        || setweight(to_tsvector('english', regexp_replace(public, '[^[:alnum:]]+', ' ', 'g')), 'C')
        || setweight(to_tsvector('english', regexp_replace(internal, '[^[:alnum:]]+', ' ', 'g')), 'D')
        || array_to_tsvector(ARRAY['tenant_' || organisation_id])
$$;

-- Only the tsvector is kept: snippets are cut from the store's text
-- (`ticket_documents`), and a narrow row is what makes walking the newest
-- matches cheap. The organisation is the lexeme 'tenant_<id>', which no
-- query a person types can produce (their words are letters and digits),
-- so a customer's query is narrowed to their organisation inside the
-- GIN index itself.
CREATE TABLE ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    document tsvector NOT NULL
);
CREATE INDEX ticket_search_document ON ticket_search USING GIN (document);
-- The planner chooses between walking the newest tickets and reading the
-- GIN index by how many tickets it thinks hold a word; the default sample
-- knows only the commonest thousand lexemes and guesses the rest high.
ALTER TABLE ticket_search ALTER COLUMN document SET STATISTICS 10000;

-- A ticket's document as the store holds it now: what the index is built
-- from, and what a search reads for tickets the index has not caught up
-- with yet.
CREATE VIEW ticket_documents AS
SELECT t.id AS ticket_id, t.organisation_id, t.created_at, t.subject,
    coalesce((SELECT string_agg(e.body, E'\n' ORDER BY e.seq) FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL), '') AS public,
    coalesce((SELECT string_agg(e.body, E'\n' ORDER BY e.seq) FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL), '') AS internal,
    t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email
        || coalesce((SELECT ' ' || string_agg(a.filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), '') AS names
FROM tickets t
JOIN organisations o ON o.id = t.organisation_id
JOIN users u ON u.id = t.requester_id;

-- Tickets whose document changed since the index last read it: marked by
-- triggers inside the statement that writes the change, so the mark
-- commits with it. Indexers (one per serve process; SKIP LOCKED shares
-- the work) take marked tickets in batches; a search reads marked
-- tickets' documents from the store, so it never misses a committed reply.
CREATE TABLE search_queue (
    ticket_id BIGINT PRIMARY KEY
);

CREATE FUNCTION search_queue_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tickets' THEN
        INSERT INTO search_queue (ticket_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'organisations' THEN
        INSERT INTO search_queue (ticket_id) SELECT id FROM tickets WHERE organisation_id = NEW.id ON CONFLICT DO NOTHING;
    ELSIF TG_TABLE_NAME = 'users' THEN
        INSERT INTO search_queue (ticket_id) SELECT id FROM tickets WHERE requester_id = NEW.id ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO search_queue (ticket_id) VALUES (NEW.ticket_id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_ticket AFTER INSERT OR UPDATE OF subject, organisation_id, requester_id ON tickets
    FOR EACH ROW EXECUTE FUNCTION search_queue_mark();
CREATE TRIGGER ticket_search_event AFTER INSERT ON ticket_events
    FOR EACH ROW WHEN (NEW.body IS NOT NULL AND NEW.body <> '') EXECUTE FUNCTION search_queue_mark();
CREATE TRIGGER ticket_search_attachment AFTER INSERT ON attachments
    FOR EACH ROW EXECUTE FUNCTION search_queue_mark();
CREATE TRIGGER ticket_search_organisation AFTER UPDATE OF name ON organisations
    FOR EACH ROW EXECUTE FUNCTION search_queue_mark();
CREATE TRIGGER ticket_search_requester AFTER UPDATE OF name, email ON users
    FOR EACH ROW EXECUTE FUNCTION search_queue_mark();

-- The tickets there already.
INSERT INTO ticket_search (ticket_id, document)
SELECT ticket_id, ticket_search_document(organisation_id, subject, names, public, internal) FROM ticket_documents;
