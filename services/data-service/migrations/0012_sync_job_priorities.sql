-- Sync priorities (issue 12): a new link's first pull (1) before pulls a webhook announced (2),
-- before the watchdog's reconciliations (3) and operators' resyncs (4), as `belvo::Priority`
-- ranks them; workers claim by priority, then by how long a job has waited, and a job gives
-- its turn up between pages when another waits. Jobs written before wait as updates.
-- Expand-only (docs/migrations.md): a column with a default (the claim's index is 0013).
ALTER TABLE sync_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
