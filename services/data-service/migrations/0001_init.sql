-- data-service's tables. Portable SQL for SQLite and PostgreSQL: ids and JSON as TEXT, times as
-- BIGINT epoch milliseconds.

-- Links data-service syncs, as link-service registered them.
CREATE TABLE links (
    link_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    owner TEXT NOT NULL,
    -- Comma-separated Belvo resource names a full resync pulls.
    fetch_resources TEXT NOT NULL,
    -- Belvo's refresh rate of a recurrent link (6h ... 30d); empty for single links.
    refresh_rate TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    last_webhook_at BIGINT,
    -- When the freshness watchdog last scheduled a reconciliation.
    last_reconciled_at BIGINT
);
CREATE INDEX links_owner ON links (owner);

-- Every webhook, once per webhook_id.
CREATE TABLE webhook_events (
    webhook_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    link_id TEXT NOT NULL,
    webhook_type TEXT NOT NULL,
    webhook_code TEXT NOT NULL,
    process_type TEXT,
    request_id TEXT,
    external_id TEXT,
    body TEXT NOT NULL,
    -- received | processed | held | ignored | failed
    state TEXT NOT NULL,
    error TEXT,
    deliveries INTEGER NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX webhook_events_recent ON webhook_events (received_at, webhook_id);
CREATE INDEX webhook_events_link ON webhook_events (link_id, state);

-- Durable pull jobs. A job is claimed with a lease; its cursor (Belvo's `next` URL) is
-- committed with each page, so a crash resumes where it stopped.
CREATE TABLE sync_jobs (
    id TEXT PRIMARY KEY,
    link_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    -- full (pull everything, then sweep what Belvo no longer returns) | incremental
    mode TEXT NOT NULL,
    -- pending | running | done | failed
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    cursor TEXT,
    -- The generation a full pull writes; rows of older generations are swept at its end.
    generation BIGINT NOT NULL,
    rows_written BIGINT NOT NULL,
    expected_rows BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one waiting job per link and resource: further webhooks coalesce into it.
CREATE UNIQUE INDEX sync_jobs_one_pending ON sync_jobs (link_id, resource) WHERE state = 'pending';
CREATE INDEX sync_jobs_due ON sync_jobs (state, run_after);
CREATE INDEX sync_jobs_link ON sync_jobs (link_id, resource, state);

-- The sync state of each link's resource.
CREATE TABLE sync_status (
    link_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    -- waiting | pending | running | succeeded | retrying | failed
    state TEXT NOT NULL,
    -- The generation of the last complete full pull.
    generation BIGINT NOT NULL,
    -- Newest Belvo `created_at` stored (epoch ms): where an incremental pull starts.
    watermark BIGINT,
    records BIGINT NOT NULL,
    records_this_pull BIGINT NOT NULL,
    expected_records BIGINT,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    last_success_at BIGINT,
    last_attempt_at BIGINT,
    next_attempt_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, resource)
);

-- Every stored Belvo object: the columns the read API filters and sorts on, and Belvo's JSON.
CREATE TABLE records (
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    link_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    -- The object's own date (YYYY-MM-DD), '' when it has none: the sort key.
    day TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    belvo_created_at BIGINT,
    generation BIGINT NOT NULL,
    synced_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (resource, id)
);
CREATE INDEX records_page ON records (link_id, resource, day, id);
CREATE INDEX records_generation ON records (link_id, resource, generation);
