-- Changes since a cursor (issue 17). Expand-only (docs/migrations.md): the previous release
-- writes records without these columns (they keep their defaults) and ignores the new tables.
--
-- A link's changes are ordered by a counter of its own: every transaction that changes the
-- link's stored objects takes the next value first, under this row's lock, so on every replica
-- the link's changes commit in counter order and a reader never sees a later value before an
-- earlier one. `compacted_seq`: the newest value whose removals were compacted away (past
-- `sync.change_retention`); a cursor before it can no longer be answered exactly.
CREATE TABLE change_counters (
    link_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    compacted_seq BIGINT NOT NULL
);

-- A stored object's last change (added or modified), when it was added, and its content's
-- hash (a re-pull that stores the same content changes neither). 0 and NULL: stored before.
ALTER TABLE records ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN added_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN content_hash BIGINT;

-- Objects removed from a link (swept, or the link purged), until compacted. The object's
-- `added_seq` and last `change_seq` tell whether a cursor's holder could have seen it at all.
CREATE TABLE record_removals (
    link_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    added_seq BIGINT NOT NULL,
    change_seq BIGINT NOT NULL,
    removed_at BIGINT NOT NULL,
    PRIMARY KEY (link_id, seq, resource, id)
);
CREATE INDEX record_removals_age ON record_removals (removed_at);
