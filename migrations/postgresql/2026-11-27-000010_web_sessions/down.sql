DROP TABLE web_keys;
DROP TABLE recovery_codes;
DROP TABLE sign_in_guards;
DROP INDEX web_sessions_user;
DROP TABLE web_sessions;
