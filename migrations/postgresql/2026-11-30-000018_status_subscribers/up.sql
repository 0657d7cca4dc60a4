-- The notifications service: people who asked to be mailed the status
-- page's updates, for every service or chosen ones. An address typed on the
-- public page waits, unconfirmed, until its owner follows the mail's link
-- (double opt-in); a signed-in contact's own address is confirmed at once.
-- The token is the capability in every mail's links (confirm, choose,
-- unsubscribe): unsubscribing deletes the row, so an address is not kept
-- after its owner asked to stop.
CREATE TABLE status_subscribers (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    all_services BOOLEAN NOT NULL,
    confirmed_at TIMESTAMP,
    user_id BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX status_subscribers_confirmed ON status_subscribers (confirmed_at);
CREATE TABLE status_subscriber_services (
    subscriber_id BIGINT NOT NULL REFERENCES status_subscribers(id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES services(id),
    PRIMARY KEY (subscriber_id, service_id)
);
CREATE INDEX status_subscriber_services_service ON status_subscriber_services (service_id);
-- Maintenance notices sent by the scheduler, each claimed by setting its
-- column where it is still null, so one server of many sends it, once.
ALTER TABLE outages ADD COLUMN reminder_sent_at TIMESTAMP;
ALTER TABLE outages ADD COLUMN start_noticed_at TIMESTAMP;
ALTER TABLE outages ADD COLUMN end_noticed_at TIMESTAMP;
