-- Sign-in throttling counters (see src/app/throttle.rs): per account and
-- client, per account, per client; in the store so every process agrees.
-- They replace the per-account lockout of sign_in_guards, whose failures
-- and locked_until columns are no longer used (totp_last_step still is).
CREATE TABLE sign_in_throttles (
    key TEXT PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP,
    notified_at TIMESTAMP
);
CREATE INDEX sign_in_throttles_window ON sign_in_throttles (window_start);
