-- The lifecycle of a ticket that is not an incident (a service request, a
-- problem or a change), beside its conversation in ticket_events: the
-- core's events in order (JSON, replayed by the ticket's type), and what
-- lists, the known-error list and the change calendar need of its state,
-- written in the same transaction as each event.
CREATE TABLE itil_events (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    seq INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);
CREATE TABLE itil_records (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id),
    ticket_type TEXT NOT NULL CHECK (ticket_type IN ('service_request', 'problem', 'change')),
    status TEXT NOT NULL,
    -- A request's catalogue item, its version and the form as filled in (JSON).
    item TEXT,
    item_version TEXT,
    answers TEXT,
    -- A request's fulfilment due, or a problem's target.
    due_at TIMESTAMP,
    known_error BOOLEAN NOT NULL DEFAULT FALSE,
    change_kind TEXT,
    window_start TIMESTAMP,
    window_end TIMESTAMP,
    -- The planned-maintenance outage a scheduled change created.
    outage_id BIGINT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX itil_records_type_status ON itil_records (ticket_type, status);
CREATE INDEX itil_records_window ON itil_records (window_start);
