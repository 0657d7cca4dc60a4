-- SCIM 2.0 provisioning: each User and Group an identity provider made,
-- per realm ('staff' or 'org:<id>'), as the document it sent (so what it
-- reads back is what it wrote) and, for a User, the desk account it is.
-- `name_key` is the userName or displayName in lower case: unique per realm.
CREATE TABLE scim_resources (
    id TEXT PRIMARY KEY NOT NULL,
    resource_type TEXT NOT NULL,
    realm TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    name_key TEXT NOT NULL,
    external_id TEXT,
    document TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (resource_type, realm, name_key)
);
CREATE INDEX scim_resources_user ON scim_resources (user_id);
