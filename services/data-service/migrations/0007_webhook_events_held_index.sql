-- no-transaction
-- The held-webhooks gauge (data_webhooks_held), read every few seconds on every replica.
CREATE INDEX CONCURRENTLY webhook_events_held ON webhook_events (received_at)
    WHERE state = 'held';
