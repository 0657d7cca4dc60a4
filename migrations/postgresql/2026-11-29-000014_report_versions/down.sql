CREATE TABLE monthly_reports (
    scope TEXT NOT NULL,
    month TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, month)
);
INSERT INTO monthly_reports (scope, month, data, created_at)
SELECT v.scope, v.month, v.data, v.kept_at FROM report_versions v
WHERE v.version = (SELECT max(w.version) FROM report_versions w WHERE w.scope = v.scope AND w.month = v.month);
DROP TABLE report_revisions_pending;
DROP TABLE report_versions;
