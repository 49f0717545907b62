//! Stored Belvo objects: batched idempotent upserts keyed on Belvo's ids, the sweep of rows a
//! full pull no longer saw, and keyset pages that neither skip nor repeat a row while new
//! rows arrive.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use database::sqlx::{self, Any, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, placeholders};
use crate::resource::{Columns, Resource};

/// Rows per INSERT statement: 17 parameters each stays far below both backends' limits.
const ROWS_PER_STATEMENT: usize = 400;

/// What a read selects to build a [`StoredRecord`].
pub(super) const RECORD_COLUMNS: &str = "id, link_id, account_id, day, amount, currency, kind, \
     status, description, belvo_created_at, synced_at, body";

/// One object to store.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub columns: Columns,
    pub body: &'a str,
    /// [`crate::resource::Indexed::content_hash`].
    pub content_hash: i64,
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub id: String,
    pub link_id: String,
    pub resource: &'static Resource,
    pub columns: Columns,
    pub synced_at: i64,
    pub body: String,
}

/// Which rows a list returns.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Inclusive `YYYY-MM-DD` bounds on the object's date.
    pub day_from: Option<String>,
    pub day_to: Option<String>,
    pub account_id: Option<String>,
    /// Any of these types (empty: all).
    pub kinds: Vec<String>,
    /// Any of these statuses (empty: all).
    pub statuses: Vec<String>,
}

/// A page of rows and the token of the next one.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<StoredRecord>,
    pub next_token: Option<String>,
}

/// The position after the last row of a page: newest day first, then id.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    d: String,
    i: String,
}

fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(token: &str) -> Result<Cursor, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| StoreError::BadPageToken)?;
    serde_json::from_slice(&bytes).map_err(|_| StoreError::BadPageToken)
}

impl Store {
    /// Inserts or updates `rows` of one link's resource, tagged with `generation`, in the
    /// caller's transaction; the body sealed when the store has a key ring. With `change` (the
    /// transaction's [`Store::next_change`]), a row stored for the first time or with other
    /// content than before is that change; a row stored again as it was keeps its position.
    #[allow(clippy::too_many_arguments)]
    pub async fn upsert_records(
        &self,
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
        resource: &'static Resource,
        generation: i64,
        synced_at: i64,
        rows: &[NewRecord<'_>],
        change: Option<i64>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (tracked, tracking) = match change {
            Some(_) => (
                ", content_hash, change_seq, added_seq",
                ", change_seq = CASE WHEN records.content_hash = excluded.content_hash \
                 AND records.link_id = excluded.link_id THEN records.change_seq \
                 ELSE excluded.change_seq END, \
                 added_seq = CASE WHEN records.link_id = excluded.link_id \
                 THEN records.added_seq ELSE excluded.added_seq END, \
                 content_hash = excluded.content_hash",
            ),
            None => ("", ""),
        };
        let column_count = if change.is_some() { 17 } else { 14 };
        // Measured (docs/benchmarks.md, data-service): a PostgreSQL-only single statement
        // over `json_to_recordset($1::json)` cut data-service's CPU but cost PostgreSQL more
        // (JSON parsing) and lowered throughput by ~9%, so both backends keep these VALUES.
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let values = (0..chunk.len())
                .map(|r| format!("({})", placeholders(r * column_count + 1, column_count)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO records (resource, id, link_id, account_id, day, amount, currency, kind, \
                 status, description, belvo_created_at, generation, synced_at, body{tracked}) \
                 VALUES {values} \
                 ON CONFLICT (resource, id) DO UPDATE SET link_id = excluded.link_id, \
                 account_id = excluded.account_id, day = excluded.day, amount = excluded.amount, \
                 currency = excluded.currency, kind = excluded.kind, status = excluded.status, \
                 description = excluded.description, belvo_created_at = excluded.belvo_created_at, \
                 generation = excluded.generation, synced_at = excluded.synced_at, body = excluded.body\
                 {tracking}"
            );
            // With a key ring the amount, description and body, which no query filters on,
            // are sealed together in the body column: one seal a row (`SEALED_RECORDS`).
            let sealed: Vec<String> = match &self.sealing {
                Some(ring) => chunk
                    .iter()
                    .map(|row| {
                        let c = &row.columns;
                        ring.seal_fields(&[&c.amount, &c.description, row.body])
                    })
                    .collect(),
                None => Vec::new(),
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, row) in chunk.iter().enumerate() {
                let c = &row.columns;
                let [amount, description, body] = match sealed.get(i) {
                    Some(body) => ["", "", body.as_str()],
                    None => [c.amount.as_str(), c.description.as_str(), row.body],
                };
                query = query
                    .bind(resource.name)
                    .bind(row.id)
                    .bind(link_id)
                    .bind(c.account_id.as_str())
                    .bind(c.day.as_str())
                    .bind(amount)
                    .bind(c.currency.as_str())
                    .bind(c.kind.as_str())
                    .bind(c.status.as_str())
                    .bind(description)
                    .bind(c.created_at)
                    .bind(generation)
                    .bind(synced_at)
                    .bind(body);
                if let Some(seq) = change {
                    query = query.bind(row.content_hash).bind(seq).bind(seq);
                }
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Deletes the rows of one link's resource older than `generation` (those the complete
    /// pull of that generation did not see), as `change` when the log is on.
    pub async fn sweep_records(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
        resource: &'static Resource,
        generation: i64,
        change: Option<i64>,
    ) -> Result<u64, StoreError> {
        if let Some(seq) = change {
            Store::record_removals(tx, seq, link_id, Some((resource, generation))).await?;
        }
        let done = sqlx::query(
            "DELETE FROM records WHERE link_id = $1 AND resource = $2 AND generation < $3",
        )
        .bind(link_id)
        .bind(resource.name)
        .bind(generation)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Rows stored for one link's resource.
    pub async fn count_records(
        &self,
        link_id: &str,
        resource: &'static Resource,
    ) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM records WHERE link_id = $1 AND resource = $2")
                .bind(link_id)
                .bind(resource.name)
                .fetch_one(self.db.pool())
                .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// One page of a link's resource, newest day first, after `token`.
    pub async fn list_records(
        &self,
        link_id: &str,
        resource: &'static Resource,
        filter: &RecordFilter,
        limit: usize,
        token: Option<&str>,
    ) -> Result<Page, StoreError> {
        let mut sql =
            format!("SELECT {RECORD_COLUMNS} FROM records WHERE link_id = $1 AND resource = $2");
        let mut binds: Vec<String> = vec![link_id.to_owned(), resource.name.to_owned()];
        let mut push = |sql: &mut String, clause: &str, value: String| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(from) = &filter.day_from {
            push(&mut sql, " AND day >= ?", from.clone());
        }
        if let Some(to) = &filter.day_to {
            push(&mut sql, " AND day <= ?", to.clone());
        }
        if let Some(account) = &filter.account_id {
            push(&mut sql, " AND account_id = ?", account.clone());
        }
        for (column, values) in [("kind", &filter.kinds), ("status", &filter.statuses)] {
            if !values.is_empty() {
                let first = binds.len() + 1;
                sql.push_str(&format!(
                    " AND {column} IN ({})",
                    placeholders(first, values.len())
                ));
                binds.extend(values.iter().cloned());
            }
        }
        if let Some(token) = token {
            let cursor = decode(token)?;
            let (d, i) = (binds.len() + 1, binds.len() + 2);
            // A row-value comparison: both backends use it as a range on `records_page`
            // (link_id, resource, day, id), so a deep page costs what the first one does; the
            // equivalent `day < d OR (day = d AND id < i)` made PostgreSQL scan and discard
            // every newer row of the link first.
            sql.push_str(&format!(" AND (day, id) < (${d}, ${i})"));
            binds.push(cursor.d);
            binds.push(cursor.i);
        }
        // One more row than asked tells whether a next page exists.
        sql.push_str(&format!(" ORDER BY day DESC, id DESC LIMIT {}", limit + 1));

        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in &binds {
            query = query.bind(value.as_str());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        let mut records = rows
            .iter()
            .map(|row| self.stored_record(row, resource))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next_token = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|last| {
                encode(&Cursor {
                    d: last.columns.day.clone(),
                    i: last.id.clone(),
                })
            })
        } else {
            None
        };
        Ok(Page {
            records,
            next_token,
        })
    }

    /// A row selected with [`RECORD_COLUMNS`], opened when sealed.
    pub(super) fn stored_record(
        &self,
        row: &sqlx::any::AnyRow,
        resource: &'static Resource,
    ) -> Result<StoredRecord, StoreError> {
        let mut record = StoredRecord {
            id: row.try_get("id")?,
            link_id: row.try_get("link_id")?,
            resource,
            columns: Columns {
                account_id: row.try_get("account_id")?,
                day: row.try_get("day")?,
                amount: row.try_get("amount")?,
                currency: row.try_get("currency")?,
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                description: row.try_get("description")?,
                created_at: row.try_get("belvo_created_at")?,
            },
            synced_at: row.try_get("synced_at")?,
            body: row.try_get("body")?,
        };
        if sealing::KeyRing::is_sealed(&record.body) {
            let ring = self.sealing.as_ref().ok_or(sealing::OpenError::NoKeyRing)?;
            let [amount, description, body] = ring.open_fields(&record.body)?;
            record.columns.amount = amount;
            record.columns.description = description;
            record.body = body;
        }
        Ok(record)
    }

    /// Deletes every stored object of a link, as `change` when the log is on.
    pub async fn purge_records(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
        change: Option<i64>,
    ) -> Result<u64, StoreError> {
        if let Some(seq) = change {
            Store::record_removals(tx, seq, link_id, None).await?;
        }
        let done = sqlx::query("DELETE FROM records WHERE link_id = $1")
            .bind(link_id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }
}
