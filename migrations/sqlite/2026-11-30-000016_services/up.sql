-- Services (components) the desk runs, grouped as the status page shows
-- them; which organisations each is for (their contract's coverage); and
-- which services an outage affects, with its impact on each. An outage's
-- organisations are still stored in outage_organisations (or
-- all_organisations): availability and credits read them as before.
CREATE TABLE services (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    description TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE organisation_services (
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    service_id BIGINT NOT NULL REFERENCES services(id),
    PRIMARY KEY (organisation_id, service_id)
);
CREATE INDEX organisation_services_service ON organisation_services (service_id);
CREATE TABLE outage_services (
    outage_id BIGINT NOT NULL REFERENCES outages(id),
    service_id BIGINT NOT NULL REFERENCES services(id),
    impact TEXT NOT NULL CHECK (impact IN ('degraded', 'partial_outage', 'major_outage')),
    PRIMARY KEY (outage_id, service_id)
);
CREATE INDEX outage_services_service ON outage_services (service_id);
