-- Where people may use the pages and the API from: per organisation (its
-- contacts), and for staff (scope 'staff'); scope 'org:<id>' otherwise.
-- No rows for a scope: no restriction.
CREATE TABLE allowed_networks (
    scope TEXT NOT NULL,
    cidr TEXT NOT NULL,
    added_by BIGINT REFERENCES users(id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, cidr)
);
