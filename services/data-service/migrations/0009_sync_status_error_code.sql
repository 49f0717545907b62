-- Why the last attempt failed, as a stable code an app may show its users (`belvo_login_error`,
-- `belvo_unavailable`, `internal`, ...); `last_error` keeps the text, for operators only.
-- Expand-only (docs/migrations.md).
ALTER TABLE sync_status ADD COLUMN last_error_code TEXT;
