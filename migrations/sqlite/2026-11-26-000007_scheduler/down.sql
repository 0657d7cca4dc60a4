DROP TABLE job_runs;
ALTER TABLE organisations DROP COLUMN account_contact;
ALTER TABLE tickets DROP COLUMN escalation_level;
