-- link-service's own tables. Portable SQL (SQLite and PostgreSQL): ids and JSON as TEXT,
-- times as BIGINT epoch milliseconds.

-- One row per registered link. `link_id` is the primary key, so a link has exactly one
-- owner however many RegisterLink/AdoptLink calls race for it.
CREATE TABLE links (
    link_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    region TEXT NOT NULL,
    institution TEXT NOT NULL,
    -- `single`, `recurrent`, or NULL when Belvo reported none.
    access_mode TEXT,
    -- `valid`, `invalid`, `unconfirmed`, `token_required`, `deleted`, or `unknown`.
    status TEXT NOT NULL,
    refresh_rate TEXT,
    -- JSON array of strings.
    fetch_resources TEXT NOT NULL,
    external_id TEXT,
    institution_user_id TEXT,
    -- `registered` or `adopted`.
    origin TEXT NOT NULL,
    belvo_created_at BIGINT,
    last_accessed_at BIGINT,
    registered_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    status_changed_at BIGINT NOT NULL,
    last_refresh_requested_at BIGINT,
    deleted_at BIGINT,
    -- Belvo's link object as last fetched.
    belvo_json TEXT NOT NULL
);

-- ListLinks: an owner's links, newest registration first (keyset on registered_at, link_id).
CREATE INDEX links_owner_registered ON links (owner, registered_at, link_id);

-- Every LINK webhook applied (or ignored), once per webhook_id.
CREATE TABLE link_events (
    webhook_id TEXT PRIMARY KEY,
    link_id TEXT NOT NULL,
    code TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    -- 1 when the event changed the link, 0 when it was a no-op (stale, final, same status).
    changed BIGINT NOT NULL,
    error_code TEXT,
    error_message TEXT
);

CREATE INDEX link_events_link ON link_events (link_id);
