-- An outage's public updates, oldest first: what customers were told, and
-- the status each left the outage in (domain::outage_status). Kept apart
-- from the staff's own account (outages.description).
CREATE TABLE outage_updates (
    id BIGSERIAL PRIMARY KEY,
    outage_id BIGINT NOT NULL REFERENCES outages(id),
    at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    posted_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outage_updates_outage ON outage_updates (outage_id, at, id);
