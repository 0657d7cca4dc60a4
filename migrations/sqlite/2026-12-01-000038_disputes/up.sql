-- A customer's dispute of a closed month's report: of a breach or a credit
-- line, with a reason and files; decided once by a manager (upheld with a
-- credit adjustment, or rejected with a reply), the decision kept with the
-- explanation of the breach as it stood then.
CREATE TABLE disputes (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    month TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    raised_by BIGINT NOT NULL REFERENCES users (id),
    raised_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    reply TEXT,
    adjustment_pence BIGINT NOT NULL DEFAULT 0,
    evidence TEXT,
    report_version INTEGER
);
CREATE INDEX disputes_open ON disputes (status, raised_at);
CREATE INDEX disputes_month ON disputes (organisation_id, month);
CREATE TABLE dispute_files (
    id INTEGER PRIMARY KEY NOT NULL,
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX dispute_files_dispute ON dispute_files (dispute_id);
