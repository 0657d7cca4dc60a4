-- A month's report is provisional, computed afresh on every read, until it
-- is closed (by a manager, or by the monthly job some working days after
-- the month ends). Closing keeps version 1 of every scope from one
-- computation; a later change touching the month (an outage, a credit, a
-- ticket event dated in it, an organisation's charge or tier) marks the
-- scope's report revised pending, and recomputing keeps the next version
-- with who, when and why. No version is ever replaced. scope: an
-- organisation's slug, or '*' for the whole desk.
CREATE TABLE report_versions (
    id INTEGER PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL,
    month TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    kept_at TIMESTAMP NOT NULL,
    kept_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    UNIQUE (scope, month, version)
);

-- Reports already kept become version 1 of their month.
INSERT INTO report_versions (scope, month, version, data, kept_at, kept_by, reason)
SELECT scope, month, 1, data, created_at, 'sladesk', 'kept on first reading (before versions)'
FROM monthly_reports;
DROP TABLE monthly_reports;

-- Changes recorded after a scope's month was kept: one row per change,
-- cleared by the next version.
CREATE TABLE report_revisions_pending (
    id INTEGER PRIMARY KEY NOT NULL,
    scope TEXT NOT NULL,
    month TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX report_versions_month ON report_versions (month);
CREATE INDEX report_revisions_pending_scope ON report_revisions_pending (scope, month);
