-- Full-text search (FTS5, built into the bundled SQLite): one document per
-- ticket, its rowid the ticket's id. Columns: the subject; the public text
-- (the description, the customer's messages, the desk's replies); the
-- internal notes, which only staff search; the names a desk looks for
-- (the reference, organisation, requester and attachment names); and
-- `tenant`, the token 'o<organisation id>', so a customer's search is
-- narrowed to their organisation inside the index itself.
--
-- Triggers keep it: they run inside the statement that writes the ticket,
-- event or attachment, so the index changes in the event's transaction and
-- a search never misses a committed reply, whatever path wrote it.
CREATE VIRTUAL TABLE ticket_search USING fts5(
    subject, public, internal, names, tenant,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER ticket_search_ticket AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant)
    VALUES (
        new.id, new.subject, '', '',
        printf('SD-%06d', new.id)
            || ' ' || (SELECT name FROM organisations WHERE id = new.organisation_id)
            || ' ' || (SELECT name || ' ' || email FROM users WHERE id = new.requester_id),
        'o' || new.organisation_id
    );
END;

CREATE TRIGGER ticket_search_subject AFTER UPDATE OF subject ON tickets BEGIN
    UPDATE ticket_search SET subject = new.subject WHERE rowid = new.id;
END;

CREATE TRIGGER ticket_search_forget AFTER DELETE ON tickets BEGIN
    DELETE FROM ticket_search WHERE rowid = old.id;
END;

CREATE TRIGGER ticket_search_event AFTER INSERT ON ticket_events
WHEN new.body IS NOT NULL AND new.body <> '' BEGIN
    UPDATE ticket_search SET
        public = CASE WHEN new.visibility = 'public' THEN public || char(10) || new.body ELSE public END,
        internal = CASE WHEN new.visibility = 'public' THEN internal ELSE internal || char(10) || new.body END
    WHERE rowid = new.ticket_id;
END;

CREATE TRIGGER ticket_search_attachment AFTER INSERT ON attachments BEGIN
    UPDATE ticket_search SET names = names || ' ' || new.filename WHERE rowid = new.ticket_id;
END;

-- The tickets there already.
INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant)
SELECT t.id, t.subject,
    coalesce((SELECT group_concat(body, char(10)) FROM (
        SELECT body FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL ORDER BY e.seq)), ''),
    coalesce((SELECT group_concat(body, char(10)) FROM (
        SELECT body FROM ticket_events e
        WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL ORDER BY e.seq)), ''),
    t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email
        || coalesce((SELECT ' ' || group_concat(filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), ''),
    'o' || t.organisation_id
FROM tickets t
JOIN organisations o ON o.id = t.organisation_id
JOIN users u ON u.id = t.requester_id;
