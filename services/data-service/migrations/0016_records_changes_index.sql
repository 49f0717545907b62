-- no-transaction
-- A link's changes in order (issue 17): ListChanges walks it from a cursor. Built without
-- blocking writes on a live table (docs/migrations.md: one CONCURRENTLY index per migration,
-- outside a transaction).
CREATE INDEX CONCURRENTLY records_changes ON records (link_id, change_seq, resource, id);
