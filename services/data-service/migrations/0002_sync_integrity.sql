-- Sync integrity across replicas and hand-backs (issue 11). Expand-only (docs/migrations.md):
-- the previous release ignores these columns.

-- The highest generation ever handed to a full pull of this link's resource, complete or not:
-- a new full pull takes the next one, so rows an abandoned pull tagged are never taken for
-- rows of a complete pull.
ALTER TABLE sync_status ADD COLUMN issued_generation BIGINT NOT NULL DEFAULT 0;
-- The last full pull, apart from incremental ones: when one last succeeded, and why the last
-- one failed (NULL once a full pull succeeds). Until then the next pull of the resource is full.
ALTER TABLE sync_status ADD COLUMN full_pull_succeeded_at BIGINT;
ALTER TABLE sync_status ADD COLUMN full_pull_error TEXT;

-- 1 once every page of the job is stored (its cursor is then NULL, as before the first page):
-- a job resumed after that only has its completion left.
ALTER TABLE sync_jobs ADD COLUMN pages_complete INTEGER NOT NULL DEFAULT 0;
