-- no-transaction
-- The claim's order (issue 12): due jobs by priority, then by how long they waited. Built
-- without blocking writes on a live table (docs/migrations.md: one CONCURRENTLY index per
-- migration, outside a transaction).
CREATE INDEX CONCURRENTLY sync_jobs_claim ON sync_jobs (state, priority, run_after);
