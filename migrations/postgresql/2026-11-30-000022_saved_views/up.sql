-- Saved views: a search (the query language: words and filters) and an
-- order, kept under a name, either one person's own or shared with a
-- queue's agents.
CREATE TABLE saved_views (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    sort TEXT,
    owner_id BIGINT REFERENCES users(id),
    queue_id BIGINT REFERENCES queues(id),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    CHECK ((owner_id IS NULL) <> (queue_id IS NULL))
);
CREATE INDEX saved_views_owner ON saved_views (owner_id);
CREATE INDEX saved_views_queue ON saved_views (queue_id);
