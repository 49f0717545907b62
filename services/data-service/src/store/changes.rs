//! The change log: what was added to, modified in and removed from each link's stored objects,
//! in one order per link that every replica shares.
//!
//! It is the compacted form of a log (the last change of each object wins): a record carries
//! the position of its last change (`change_seq`) and of its addition (`added_seq`), and a
//! removed object leaves a row in `record_removals` until `sync.change_retention` passes. A
//! position is `(seq, resource, id)`: `seq` is the link's counter value of the transaction that
//! made the change (`change_counters`, taken first in that transaction, under the row's lock, so
//! a link's values commit in order), then the object. Reading from a cursor returns each object
//! at most once, at its last change, with its content now.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use database::sqlx::{self, Any, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::records::RECORD_COLUMNS;
use super::{Store, StoreError, StoredRecord, placeholders};
use crate::resource::Resource;

/// What happened to an object since a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Stored after the cursor, for the first time.
    Added,
    /// Stored before the cursor, with other content since.
    Modified,
    /// Stored before the cursor, gone since.
    Removed,
}

/// One change: the object now (added, modified) or what it was (removed).
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ChangeKind,
    pub resource: &'static Resource,
    pub id: String,
    /// `None` for a removal.
    pub record: Option<StoredRecord>,
}

/// A page of changes.
#[derive(Debug, Clone)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Where the next read starts: after the last change of the page, or (when `has_more` is
    /// false) after everything committed when the page was read.
    pub next_cursor: String,
    pub has_more: bool,
}

/// A position in one link's changes: after `(seq, resource, id)`. The empty cursor is
/// `(0, "", "")`, before everything; the end of value `seq` is `(seq + 1, "", "")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    /// The link: a cursor is only valid for the link it was issued for.
    l: String,
    s: i64,
    r: String,
    i: String,
    /// Removals up to this value concern the holder not: it saw nothing they removed. A
    /// listing from the empty cursor starts at the counter of its first page (what was removed
    /// before is not listed), then follows with `s - 1`.
    f: i64,
}

impl Position {
    fn end_of(link_id: &str, seq: i64, floor: i64) -> Self {
        Self {
            l: link_id.to_owned(),
            s: seq + 1,
            r: String::new(),
            i: String::new(),
            f: floor,
        }
    }

    fn encode(mut self) -> String {
        self.f = self.f.max(self.s - 1);
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self).unwrap_or_default())
    }

    fn decode(cursor: &str, link_id: &str) -> Result<Self, StoreError> {
        let position: Self = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|p: &Self| p.s >= 0 && p.f >= p.s - 1)
            .ok_or(StoreError::BadCursor("not a cursor this service issued"))?;
        if position.l != link_id {
            return Err(StoreError::BadCursor("issued for another link"));
        }
        Ok(position)
    }

    fn key(&self) -> (i64, &str, &str) {
        (self.s, &self.r, &self.i)
    }
}

impl Store {
    /// Takes the link's next change counter value in the caller's transaction, which holds the
    /// counter's row until it commits (so take it before the transaction's other writes);
    /// `None` when the change log is off.
    pub async fn next_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        if !self.change_log {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO change_counters (link_id, seq, compacted_seq) VALUES ($1, 1, 0) \
             ON CONFLICT (link_id) DO UPDATE SET seq = change_counters.seq + 1 RETURNING seq",
        )
        .bind(link_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(Some(row.try_get("seq")?))
    }

    /// Records as removed, with change `seq`, the link's objects about to be deleted in the
    /// caller's transaction: a resource's rows older than a generation (a sweep), or all.
    pub(super) async fn record_removals(
        tx: &mut Transaction<'static, Any>,
        seq: i64,
        link_id: &str,
        older: Option<(&'static Resource, i64)>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO record_removals \
                   (link_id, seq, resource, id, added_seq, change_seq, removed_at) \
                   SELECT link_id, $2, resource, id, added_seq, change_seq, $3 FROM records \
                   WHERE link_id = $1";
        let query = |sql| {
            sqlx::query(sql)
                .bind(link_id)
                .bind(seq)
                .bind(super::now_ms())
        };
        match older {
            Some((resource, generation)) => {
                query(sqlx::AssertSqlSafe(format!(
                    "{sql} AND resource = $4 AND generation < $5"
                )))
                .bind(resource.name)
                .bind(generation)
                .execute(&mut **tx)
                .await?
            }
            None => {
                query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut **tx)
                    .await?
            }
        };
        Ok(())
    }

    /// Forgets a link's changes (its owner is being erased): a cursor of it is then expired.
    pub(super) async fn forget_changes(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
    ) -> Result<(), StoreError> {
        for sql in [
            "DELETE FROM record_removals WHERE link_id = $1",
            "DELETE FROM change_counters WHERE link_id = $1",
        ] {
            sqlx::query(sql).bind(link_id).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The cursor after everything committed for the link now.
    pub async fn newest_cursor(&self, link_id: &str) -> Result<String, StoreError> {
        let (seq, _) = self.counter(link_id).await?;
        Ok(Position::end_of(link_id, seq, seq).encode())
    }

    /// The link's counter and compaction horizon (0, 0 before its first change).
    async fn counter(&self, link_id: &str) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query("SELECT seq, compacted_seq FROM change_counters WHERE link_id = $1")
            .bind(link_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(row) => (row.try_get("seq")?, row.try_get("compacted_seq")?),
            None => (0, 0),
        })
    }

    /// Up to `limit` changes of the link's `resources` (empty: all) after `cursor` (`None`:
    /// from the beginning, every stored object as added), oldest first.
    pub async fn list_changes(
        &self,
        link_id: &str,
        resources: &[&'static Resource],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ChangesPage, StoreError> {
        if !self.change_log {
            return Err(StoreError::ChangeLogOff);
        }
        let from = match cursor {
            Some(cursor) => Some(Position::decode(cursor, link_id)?),
            None => None,
        };
        // The link's counter and its records up to it, in one statement, so in one snapshot:
        // every value up to the counter has committed there (values commit in order).
        let mut position = from
            .clone()
            .unwrap_or_else(|| Position::end_of(link_id, -1, 0));
        let mut filter = String::new();
        if !resources.is_empty() {
            filter = format!(" AND resource IN ({})", placeholders(7, resources.len()));
        }
        let bind = |sql: String, position: &Position, seq: i64| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(link_id)
                .bind(position.s)
                .bind(position.r.clone())
                .bind(position.i.clone())
                .bind(seq)
                .bind(position.f);
            for resource in resources {
                query = query.bind(resource.name);
            }
            query
        };
        // One more row than asked tells whether a next page exists. (The counter comes with
        // every row, and alone when no record follows.)
        let counter = "SELECT COALESCE(MAX(seq), 0) AS counter_seq, \
                       COALESCE(MAX(compacted_seq), 0) AS counter_compacted \
                       FROM change_counters WHERE link_id = $1";
        let rows = bind(
            format!(
                "SELECT c.counter_seq, c.counter_compacted, r.* FROM ({counter}) c LEFT JOIN (\
                 SELECT {RECORD_COLUMNS}, resource, change_seq, added_seq FROM records \
                 WHERE link_id = $1 AND (change_seq, resource, id) > ($2, $3, $4) \
                 AND change_seq <= (SELECT counter_seq FROM ({counter}) n){filter} \
                 ORDER BY change_seq, resource, id LIMIT {}) r ON 1 = 1",
                limit + 1
            ),
            &position,
            0, // $5, unused: the statement reads the counter itself
        )
        .fetch_all(self.db.pool())
        .await?;
        let (seq, compacted) = match rows.first() {
            Some(row) => (
                row.try_get("counter_seq")?,
                row.try_get("counter_compacted")?,
            ),
            None => (0, 0),
        };
        if let Some(from) = &from
            // Removals it needs were compacted away; or the log was forgotten since.
            && (from.f < compacted || from.s > seq + 1)
        {
            return Err(StoreError::CursorExpired);
        }
        if from.is_none() {
            position.f = seq;
        }
        // Only objects the cursor's holder may have seen: added at or before its position, and
        // (when last changed before the floor, so at one place all along) there. Only removals
        // after the floor count: when the floor is at `seq` already (a listing from the empty
        // cursor of a link that has not changed since it started, a caught-up reader) there
        // are none, and no query.
        let removals = if cursor.is_some() && position.f < seq {
            bind(
                format!(
                    "SELECT seq, resource, id FROM record_removals \
                     WHERE link_id = $1 AND (seq, resource, id) > ($2, $3, $4) AND seq <= $5 \
                     AND seq > $6 AND (added_seq, resource, id) <= ($2, $3, $4) \
                     AND (change_seq > $6 OR (change_seq, resource, id) <= ($2, $3, $4)){filter} \
                     ORDER BY seq, resource, id LIMIT {}",
                    limit + 1
                ),
                &position,
                seq,
            )
            .fetch_all(self.db.pool())
            .await?
        } else {
            Vec::new()
        };

        let mut entries = Vec::with_capacity(rows.len() + removals.len());
        for row in &rows {
            // The counter alone when no record follows it.
            let Some(name) = row.try_get::<Option<String>, _>("resource")? else {
                continue;
            };
            let Some(resource) = Resource::from_name(&name) else {
                continue;
            };
            let record = self.stored_record(row, resource)?;
            let change_seq: i64 = row.try_get("change_seq")?;
            // Last changed before the floor: where a listing from the empty cursor meets it,
            // once. Else added after the position, or there before (and modified since).
            // (An object modified while a listing from the empty cursor is under way may be
            // listed as modified before that listing reached it: a consumer upserts either.)
            let added = change_seq <= position.f
                || (
                    row.try_get::<i64, _>("added_seq")?,
                    resource.name,
                    record.id.as_str(),
                ) > position.key();
            let kind = if added {
                ChangeKind::Added
            } else {
                ChangeKind::Modified
            };
            entries.push((
                change_seq,
                Change {
                    kind,
                    resource,
                    id: record.id.clone(),
                    record: Some(record),
                },
            ));
        }
        for row in &removals {
            let Some(resource) = Resource::from_name(&row.try_get::<String, _>("resource")?) else {
                continue;
            };
            entries.push((
                row.try_get("seq")?,
                Change {
                    kind: ChangeKind::Removed,
                    resource,
                    id: row.try_get("id")?,
                    record: None,
                },
            ));
        }
        entries.sort_by(|(a, x), (b, y)| {
            (a, x.resource.name, &x.id).cmp(&(b, y.resource.name, &y.id))
        });
        let has_more = entries.len() > limit;
        entries.truncate(limit);
        let next = match entries.last() {
            Some((s, last)) if has_more => Position {
                l: link_id.to_owned(),
                s: *s,
                r: last.resource.name.to_owned(),
                i: last.id.clone(),
                f: position.f,
            },
            _ => Position::end_of(link_id, seq, position.f),
        };
        Ok(ChangesPage {
            changes: entries.into_iter().map(|(_, change)| change).collect(),
            next_cursor: next.encode(),
            has_more,
        })
    }

    /// Removes the removals recorded before `before` and moves each link's compaction horizon
    /// past them; returns how many went.
    pub async fn compact_changes(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "UPDATE change_counters SET compacted_seq = ( \
                 SELECT CASE WHEN MAX(r.seq) > change_counters.compacted_seq \
                     THEN MAX(r.seq) ELSE change_counters.compacted_seq END \
                 FROM record_removals r \
                 WHERE r.link_id = change_counters.link_id AND r.removed_at < $1) \
             WHERE link_id IN (SELECT link_id FROM record_removals WHERE removed_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM record_removals WHERE removed_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
