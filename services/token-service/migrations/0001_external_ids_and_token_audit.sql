-- token-service's own tables. Portable SQL (DESIGN §3): TEXT ids and JSON, BIGINT epoch ms.

-- Every external id this service handed out, so that ResolveExternalId can name its owner.
CREATE TABLE external_ids (
    external_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    region TEXT NOT NULL,
    first_issued_at_ms BIGINT NOT NULL
);

-- Not unique: after a key rotation an owner has an old and a new external id in a region,
-- and links made with either must still resolve.
CREATE INDEX external_ids_owner_region ON external_ids (owner, region);

-- One row per widget token issued: who, where, for which link and resources, when. Never
-- the token itself.
CREATE TABLE token_audit (
    id TEXT PRIMARY KEY,
    issued_at_ms BIGINT NOT NULL,
    owner TEXT NOT NULL,
    region TEXT NOT NULL,
    external_id TEXT NOT NULL,
    link_id TEXT,
    products TEXT NOT NULL,
    fetch_resources TEXT NOT NULL,
    caller TEXT,
    request_id TEXT
);

CREATE INDEX token_audit_owner_issued ON token_audit (owner, issued_at_ms);
