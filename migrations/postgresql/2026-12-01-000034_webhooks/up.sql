-- Webhook subscriptions: where events are posted, in which format, which
-- events and for which tickets. Deliveries are outbox rows of kind
-- 'webhook' (to_address 'webhook:<id>', message_id the event's id), so they
-- are claimed, retried, backed off and set aside in doubt as mail is.
-- The signing secret is kept: every delivery is signed with it.
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    format TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_types TEXT NOT NULL,
    organisation_id BIGINT REFERENCES organisations(id),
    queue_id BIGINT REFERENCES queues(id),
    severities TEXT,
    allow_private BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    failing_since TIMESTAMP,
    last_success_at TIMESTAMP,
    last_failure_at TIMESTAMP,
    last_error TEXT,
    disabled_at TIMESTAMP,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
