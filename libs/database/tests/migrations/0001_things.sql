-- A portable schema in the style the services use: TEXT ids and JSON, BIGINT epoch ms.
CREATE TABLE owners (
    id TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE things (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners (id),
    created_at_ms BIGINT NOT NULL,
    payload TEXT NOT NULL
);

CREATE INDEX things_owner_created ON things (owner_id, created_at_ms);
