-- The durable removal of links and erasure of owners (issue 14). Expand-only
-- (docs/migrations.md): new tables.

-- One row per link being removed, by DeleteLink or its owner's erasure: each step is retried,
-- under a lease any replica may take, until it is confirmed.
CREATE TABLE link_removals (
    link_id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    -- The owner whose erasure this is part of; NULL for a DeleteLink.
    erasure_owner TEXT,
    requested_at BIGINT NOT NULL,
    belvo_deleted_at BIGINT,
    purged_at BIGINT,
    done_at BIGINT,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

CREATE INDEX link_removals_due ON link_removals (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX link_removals_erasure ON link_removals (erasure_owner);

-- One row per owner whose erasure was asked for: the record that it was done (the owner id
-- and times only), and what is left while it is under way.
CREATE TABLE erasures (
    owner TEXT PRIMARY KEY,
    requested_at BIGINT NOT NULL,
    links BIGINT NOT NULL,
    token_service_erased_at BIGINT,
    finished_at BIGINT,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

CREATE INDEX erasures_due ON erasures (next_attempt_at) WHERE finished_at IS NULL;
