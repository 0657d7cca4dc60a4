-- Time spent on a ticket by staff: with a reply or note (event_seq names
-- it) or logged on its own. Billed from the monthly report's figures, so
-- every change and removal is audited with the values before.
CREATE TABLE time_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    spent_on DATE NOT NULL,
    note TEXT,
    event_seq INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX time_entries_ticket ON time_entries (ticket_id);
CREATE INDEX time_entries_spent_on ON time_entries (spent_on);
