-- no-transaction
-- The retry pass's scan of webhooks stored but not processed, on every replica every few
-- seconds: a small partial index instead of the whole table.
CREATE INDEX CONCURRENTLY webhook_events_received ON webhook_events (received_at, webhook_id)
    WHERE state = 'received';
