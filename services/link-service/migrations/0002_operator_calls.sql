-- Operator calls (issue 14): who called which method on what, and when, recorded before the
-- call acts; listed newest first by ListOperatorCalls (ids are UUIDv7: they grow with time).
-- Expand-only (docs/migrations.md): a new table.
CREATE TABLE operator_calls (
    id TEXT PRIMARY KEY,
    called_at_ms BIGINT NOT NULL,
    caller TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    request_id TEXT NOT NULL
);

CREATE INDEX operator_calls_caller ON operator_calls (caller, id);
