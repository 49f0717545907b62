-- A link's lifecycle at scale (issue 11). Expand-only (docs/migrations.md).

-- Set when the link's data was purged (Belvo deleted the link, or an operator): the row stays
-- as a tombstone, so late webhooks for the link are ignored and the watchdog skips it.
ALTER TABLE links ADD COLUMN purged_at BIGINT;
-- A recurrent link's refresh rate in milliseconds (NULL for a single link), and when its next
-- update from Belvo is due (its last webhook, reconciliation or registration plus that): the
-- watchdog reads only the links past it, by index.
ALTER TABLE links ADD COLUMN refresh_ms BIGINT;
ALTER TABLE links ADD COLUMN refresh_due_at BIGINT;
UPDATE links SET refresh_ms = CASE refresh_rate
        WHEN '6h' THEN 21600000 WHEN '12h' THEN 43200000 WHEN '24h' THEN 86400000
        WHEN '7d' THEN 604800000 WHEN '30d' THEN 2592000000 END;
UPDATE links SET refresh_due_at = refresh_ms + COALESCE(
        CASE WHEN last_webhook_at > last_reconciled_at THEN last_webhook_at ELSE last_reconciled_at END,
        last_webhook_at, last_reconciled_at, registered_at);
