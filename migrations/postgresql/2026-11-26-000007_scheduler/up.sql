-- How far a ticket has escalated: 0 none, then one level per at-risk
-- threshold crossed, the highest for a breach (see the policy's matrix).
ALTER TABLE tickets ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;

-- The organisation's account contact, told of severity 1 breaches.
ALTER TABLE organisations ADD COLUMN account_contact TEXT;

-- The scheduler's jobs: a lease so that one run at a time happens across
-- every process (an overrunning job is not started again), and what the
-- last run did.
CREATE TABLE job_runs (
    job TEXT PRIMARY KEY NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_outcome TEXT,
    last_error TEXT,
    next_run_at TIMESTAMP
);
