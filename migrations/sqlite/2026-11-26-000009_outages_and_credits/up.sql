-- Outages as recorded by the desk: availability is computed from them.
-- all_organisations: the outage concerned every customer (the platform);
-- otherwise outage_organisations names those it did.
CREATE TABLE outages (
    id INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    notified_at TIMESTAMP,
    all_organisations BOOLEAN NOT NULL,
    description TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outages_starts_at ON outages (starts_at);
CREATE TABLE outage_organisations (
    outage_id BIGINT NOT NULL REFERENCES outages(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (outage_id, organisation_id)
);

-- Credits received from the platform provider, and each organisation's
-- share of them, passed on in that month's report.
CREATE TABLE upstream_credits (
    id INTEGER PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    month TEXT NOT NULL,
    amount_pence BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE upstream_credit_shares (
    upstream_credit_id BIGINT NOT NULL REFERENCES upstream_credits(id),
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    amount_pence BIGINT NOT NULL,
    PRIMARY KEY (upstream_credit_id, organisation_id)
);
CREATE INDEX upstream_credit_shares_organisation ON upstream_credit_shares (organisation_id);

-- A closed month's report, kept as computed when the month was closed, so
-- that it reads the same whatever changes later (outages corrected, a
-- policy edited, an organisation's charge changed). scope: an
-- organisation's slug, or '*' for the whole desk.
CREATE TABLE monthly_reports (
    scope TEXT NOT NULL,
    month TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, month)
);
