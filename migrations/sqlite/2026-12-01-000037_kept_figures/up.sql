-- Figures costly to compute that every process shows alike: the dashboard's
-- month-to-date compliance replays every ticket of the month. The scheduler
-- recounts them (under its lease, so once for all processes) and keeps them
-- here; each process's dashboard reads the one row, so two managers behind
-- one load balancer see the same figures with the same time.
CREATE TABLE kept_figures (
    name TEXT PRIMARY KEY NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    body TEXT NOT NULL
);
