-- The service's share of each region's Belvo rate budget (issue 12), shared by its replicas:
-- one row per region holding the budget's ledger (calls taken per time bucket, as
-- `belvo::Ledger` encodes it), read and written under a row lock. Used on PostgreSQL; on
-- SQLite the one process keeps its ledger in memory.
-- Expand-only (docs/migrations.md): a new table.
CREATE TABLE belvo_budgets (
    region TEXT PRIMARY KEY,
    ledger TEXT NOT NULL
);
