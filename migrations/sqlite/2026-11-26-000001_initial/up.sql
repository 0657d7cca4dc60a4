-- sladesk schema, SQLite flavour. Keep column names and types in step with
-- migrations/postgresql and src/store/schema.rs. Instants are TIMESTAMP
-- holding UTC; money is integer pence.

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    region TEXT NOT NULL,
    email_domains TEXT NOT NULL DEFAULT '',
    monthly_charge_pence BIGINT NOT NULL DEFAULT 0,
    contract_start DATE,
    contract_end DATE,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    organisation_id BIGINT REFERENCES organisations(id),
    password_hash TEXT,
    totp_secret TEXT,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL DEFAULT 'Europe/London',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL DEFAULT 'full',
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE queues (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    inbound_address TEXT UNIQUE,
    lead_id BIGINT REFERENCES users(id),
    default_severity INTEGER NOT NULL DEFAULT 3,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE queue_members (
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (queue_id, user_id)
);

CREATE TABLE policy_versions (
    version TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    effective_from DATE NOT NULL,
    source TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL
);

-- Holiday data as used for SLA clocks: every region's days 1990-2100 in the
-- GOV.UK feed format, keyed by its hash, so a ticket keeps the holidays it
-- started with until it is recomputed on purpose.
CREATE TABLE holiday_sets (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations(id),
    requester_id BIGINT NOT NULL REFERENCES users(id),
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    assignee_id BIGINT REFERENCES users(id),
    severity INTEGER NOT NULL,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    policy TEXT NOT NULL,
    policy_version TEXT NOT NULL REFERENCES policy_versions(version),
    holiday_set TEXT NOT NULL REFERENCES holiday_sets(fingerprint),
    row_version BIGINT NOT NULL DEFAULT 0,
    first_response_at TIMESTAMP,
    resolved_at TIMESTAMP,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    response_state TEXT NOT NULL,
    response_elapsed_seconds BIGINT NOT NULL,
    response_due_at TIMESTAMP,
    response_breached_at TIMESTAMP,
    resolve_state TEXT NOT NULL,
    resolve_elapsed_seconds BIGINT NOT NULL,
    resolve_due_at TIMESTAMP,
    resolve_breached_at TIMESTAMP,
    at_risk_at TIMESTAMP,
    next_check_at TIMESTAMP,
    sla_computed_at TIMESTAMP NOT NULL
);
CREATE INDEX tickets_next_check_at ON tickets (next_check_at);
CREATE INDEX tickets_organisation ON tickets (organisation_id, created_at);
CREATE INDEX tickets_queue_status ON tickets (queue_id, status);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    seq INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_role TEXT NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    kind TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body TEXT,
    data TEXT NOT NULL,
    UNIQUE (ticket_id, seq)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    remote_addr TEXT,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
