-- Single sign-on. A sign-in begun at a provider: the state sent there (its
-- hash), which provider, and the nonce and PKCE verifier the answer must
-- match. A row is taken (deleted) when its answer comes back, so a state is
-- good once; rows left behind expire.
CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    login_hint TEXT,
    remote_addr TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
-- Which account a provider's subject is: the account follows the subject
-- (`sub` never changes at a provider; an e-mail address may).
CREATE TABLE sso_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    provider TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_sign_in_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);
-- What a session's provider needs to sign out there too.
ALTER TABLE web_sessions ADD COLUMN sso_provider TEXT;
ALTER TABLE web_sessions ADD COLUMN sso_id_token TEXT;
