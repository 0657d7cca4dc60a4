-- Signed-in browsers. The cookie carries a random token (signed); only its
-- SHA-256 is kept, so a copy of this table signs nobody in. stage is
-- 'code' (password accepted, TOTP or recovery code awaited), 'enrol'
-- (password accepted, the role must enrol before anything else) or 'full'.
CREATE TABLE web_sessions (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    pending_totp_secret TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    remote_addr TEXT
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Consecutive failed sign-ins and the lockout they caused, per user, so
-- every server process sees the same count; and the last TOTP time step
-- accepted, so a code is good once.
CREATE TABLE sign_in_guards (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users(id),
    failures INTEGER NOT NULL,
    locked_until TIMESTAMP,
    totp_last_step BIGINT
);

-- One-time recovery codes, shown once at enrolment; kept hashed.
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- The key that signs session cookies, made on first start and shared by
-- every server on the database.
CREATE TABLE web_keys (
    id BIGSERIAL PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
