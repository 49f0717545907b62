-- no-transaction
-- The retention pass's delete of finished jobs past their retention.
CREATE INDEX CONCURRENTLY sync_jobs_finished ON sync_jobs (updated_at)
    WHERE state IN ('done', 'failed');
