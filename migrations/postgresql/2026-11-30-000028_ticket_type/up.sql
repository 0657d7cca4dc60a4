-- What kind of ticket: every ticket so far is an incident (issue 18 adds
-- service requests, problems and changes on the same row).
ALTER TABLE tickets ADD COLUMN ticket_type TEXT NOT NULL DEFAULT 'incident'
    CHECK (ticket_type IN ('incident', 'service_request', 'problem', 'change'));
