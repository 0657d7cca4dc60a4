-- Full-text search: one document per ticket. The subject, public text
-- (description, the customer's messages, the desk's replies) and internal
-- notes go through the English configuration (stemmed); the names a desk
-- looks for (the reference, organisation, requester, attachment names)
-- through the simple one, kept as written. Weights tell them apart: A the
-- subject, B the names, C the public text, D the internal notes, so a
-- customer's query asks for A, B and C only and never matches, excludes or
-- ranks by a note. Text is split into runs of letters and digits first, as
-- SQLite's tokeniser splits it, so both stores find the same words.
--
-- Triggers keep it, inside the statement that writes the ticket, event or
-- attachment: the index changes in the event's transaction.
CREATE TABLE ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    organisation_id BIGINT NOT NULL,
    subject TEXT NOT NULL,
    public TEXT NOT NULL DEFAULT '',
    internal TEXT NOT NULL DEFAULT '',
    names TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', regexp_replace(subject, '[^[:alnum:]]+', ' ', 'g')), 'A')
        || setweight(to_tsvector('simple', regexp_replace(names, '[^[:alnum:]]+', ' ', 'g')), 'B')
        || setweight(to_tsvector('english', regexp_replace(public, '[^[:alnum:]]+', ' ', 'g')), 'C')
        || setweight(to_tsvector('english', regexp_replace(internal, '[^[:alnum:]]+', ' ', 'g')), 'D')
    ) STORED
);
CREATE INDEX ticket_search_document ON ticket_search USING GIN (document);
CREATE INDEX ticket_search_organisation ON ticket_search (organisation_id, ticket_id);

CREATE FUNCTION ticket_search_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_search (ticket_id, organisation_id, subject, names)
        VALUES (
            NEW.id, NEW.organisation_id, NEW.subject,
            'SD-' || lpad(NEW.id::text, 6, '0')
                || ' ' || (SELECT name FROM organisations WHERE id = NEW.organisation_id)
                || ' ' || (SELECT name || ' ' || email FROM users WHERE id = NEW.requester_id)
        );
    ELSIF NEW.subject IS DISTINCT FROM OLD.subject THEN
        UPDATE ticket_search SET subject = NEW.subject WHERE ticket_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_ticket AFTER INSERT OR UPDATE OF subject ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_search_ticket();

CREATE FUNCTION ticket_search_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.visibility = 'public' THEN
        UPDATE ticket_search SET public = public || E'\n' || NEW.body WHERE ticket_id = NEW.ticket_id;
    ELSE
        UPDATE ticket_search SET internal = internal || E'\n' || NEW.body WHERE ticket_id = NEW.ticket_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_event AFTER INSERT ON ticket_events
    FOR EACH ROW WHEN (NEW.body IS NOT NULL AND NEW.body <> '') EXECUTE FUNCTION ticket_search_event();

CREATE FUNCTION ticket_search_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ticket_search SET names = names || ' ' || NEW.filename WHERE ticket_id = NEW.ticket_id;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_search_attachment AFTER INSERT ON attachments
    FOR EACH ROW EXECUTE FUNCTION ticket_search_attachment();

-- The tickets there already.
INSERT INTO ticket_search (ticket_id, organisation_id, subject, public, internal, names)
SELECT t.id, t.organisation_id, t.subject,
    coalesce((SELECT string_agg(e.body, E'\n' ORDER BY e.seq) FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL), ''),
    coalesce((SELECT string_agg(e.body, E'\n' ORDER BY e.seq) FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL), ''),
    t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email
        || coalesce((SELECT ' ' || string_agg(a.filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), '')
FROM tickets t
JOIN organisations o ON o.id = t.organisation_id
JOIN users u ON u.id = t.requester_id;
