-- Monitoring alerts (Prometheus Alertmanager's webhook): one row per alert
-- fingerprint, owning one internal incident ticket and, by the desk's
-- rules, one outage. Unique by fingerprint, so a notification told twice,
-- or to two servers at once, never makes a second ticket.
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    firing BOOLEAN NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    outage_id BIGINT REFERENCES outages(id),
    notifications INTEGER NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
-- An outage opened from an alert waits as a draft for staff to confirm:
-- until then no customer sees it and availability does not count it. A
-- resolved alert proposes its end.
ALTER TABLE outages ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE outages ADD COLUMN proposed_end_at TIMESTAMP;
