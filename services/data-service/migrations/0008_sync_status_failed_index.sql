-- no-transaction
-- The failed-resources gauge (data_sync_resources_failed), read every few seconds on every
-- replica.
CREATE INDEX CONCURRENTLY sync_status_failed ON sync_status (link_id) WHERE state = 'failed';
