-- no-transaction
-- The watchdog's page of due links. Built without blocking writes on a live table (see
-- docs/migrations.md: one CONCURRENTLY index per migration, outside a transaction).
CREATE INDEX CONCURRENTLY links_refresh_due ON links (refresh_due_at)
    WHERE refresh_due_at IS NOT NULL AND purged_at IS NULL;
