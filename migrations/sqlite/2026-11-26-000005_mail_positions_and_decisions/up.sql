-- Where the IMAP poller stands in each mailbox it reads: the folder's
-- UIDVALIDITY and the highest UID taken in. Written in the same transaction
-- as the message it took, so a restart resumes exactly after it.
CREATE TABLE mailbox_positions (
    source TEXT PRIMARY KEY NOT NULL,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Organisations whose contacts may declare a ticket's severity by mail
-- ([S1] in the subject); everyone else gets the queue's default.
ALTER TABLE organisations ADD COLUMN may_declare_severity BOOLEAN NOT NULL DEFAULT 0;

-- An agent's decision on a quarantined message.
ALTER TABLE inbound_messages ADD COLUMN decided_by BIGINT REFERENCES users(id);
ALTER TABLE inbound_messages ADD COLUMN decided_at TIMESTAMP;
