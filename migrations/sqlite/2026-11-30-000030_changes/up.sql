-- Change freezes: periods in which only emergency changes (with a reason)
-- may be scheduled.
CREATE TABLE change_freezes (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
-- The services a change affects: its window becomes their planned
-- maintenance, and two changes on one service at once clash.
CREATE TABLE change_services (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    service_id BIGINT NOT NULL REFERENCES services(id),
    PRIMARY KEY (ticket_id, service_id)
);
CREATE INDEX change_services_service ON change_services (service_id);
