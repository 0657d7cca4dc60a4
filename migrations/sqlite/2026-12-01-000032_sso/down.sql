DROP TABLE sso_identities;
DROP TABLE sso_logins;
ALTER TABLE web_sessions DROP COLUMN sso_id_token;
ALTER TABLE web_sessions DROP COLUMN sso_provider;
