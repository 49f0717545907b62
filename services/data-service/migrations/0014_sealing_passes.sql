-- The last pass that re-sealed a sealed column under the active key (issue 14), so that the
-- service's replicas share one pass per `encryption.reseal_every` instead of each reading the
-- whole table (`grpc_runtime::SealedColumns`). `name` is `<table>.<column>`.
-- Expand-only (docs/migrations.md): a new table.
CREATE TABLE sealing_passes (
    name TEXT PRIMARY KEY,
    active_key TEXT NOT NULL,
    finished_at BIGINT NOT NULL
);
