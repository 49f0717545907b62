//! The sync state of each link's resource, as the read API and the progress stream show it.

use database::sqlx::{self, Any, Row, Transaction};

use super::{Job, JobMode, Store, StoreError};
use crate::resource::Resource;

/// Where a link's resource stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    Waiting,
    Pending,
    Running,
    Succeeded,
    Retrying,
    Failed,
}

impl SyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "retrying" => Self::Retrying,
            "failed" => Self::Failed,
            _ => Self::Waiting,
        }
    }
}

/// One link's resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub link_id: String,
    pub resource: &'static Resource,
    pub state: SyncState,
    pub generation: i64,
    pub records: i64,
    pub records_this_pull: i64,
    pub expected_records: Option<i64>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_success_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    /// When a full pull of the resource last succeeded.
    pub full_pull_succeeded_at: Option<i64>,
    /// Why the last full pull failed, until a full pull succeeds.
    pub full_pull_error: Option<String>,
    /// `last_error` as a stable code for apps.
    pub last_error_code: Option<String>,
}

impl Store {
    /// A pull is scheduled (a running pull keeps showing as running).
    pub(super) async fn mark_pending(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
        resource: &'static Resource,
        expected: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_status (link_id, resource, state, generation, records, \
             records_this_pull, expected_records, attempts, next_attempt_at, updated_at) \
             VALUES ($1, $2, 'pending', 0, 0, 0, $3, 0, $4, $4) \
             ON CONFLICT (link_id, resource) DO UPDATE SET \
             state = CASE WHEN sync_status.state = 'running' THEN 'running' ELSE 'pending' END, \
             expected_records = COALESCE(excluded.expected_records, sync_status.expected_records), \
             next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at",
        )
        .bind(link_id)
        .bind(resource.name)
        .bind(expected)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A worker started (or resumed) a pull.
    pub async fn mark_running(
        &self,
        link_id: &str,
        resource: &'static Resource,
        attempts: i32,
        rows_so_far: i64,
        expected: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_status SET state = 'running', attempts = $1, records_this_pull = $2, \
             expected_records = COALESCE($3, expected_records), last_attempt_at = $4, \
             next_attempt_at = NULL, updated_at = $4 WHERE link_id = $5 AND resource = $6",
        )
        .bind(attempts)
        .bind(rows_so_far)
        .bind(expected)
        .bind(now)
        .bind(link_id)
        .bind(resource.name)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// In a page's transaction: rows written by the pull so far.
    pub async fn mark_progress(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
        resource: &'static Resource,
        rows_this_pull: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sync_status SET records_this_pull = $1, updated_at = $2 \
             WHERE link_id = $3 AND resource = $4",
        )
        .bind(rows_this_pull)
        .bind(now)
        .bind(link_id)
        .bind(resource.name)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// In the final transaction: the job's pull completed; `generation` is the full pull's (or
    /// the unchanged one of an incremental pull). The incremental watermark moves only here,
    /// from complete pulls: everything up to the newest stored `created_at` has been seen.
    pub async fn mark_succeeded(
        tx: &mut Transaction<'static, Any>,
        job: &Job,
        generation: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let full = job.mode == JobMode::Full;
        sqlx::query(
            "UPDATE sync_status SET state = 'succeeded', generation = $1, \
             records = (SELECT COUNT(*) FROM records WHERE link_id = $2 AND resource = $3), \
             watermark = (SELECT MAX(belvo_created_at) FROM records WHERE link_id = $2 AND resource = $3), \
             full_pull_succeeded_at = CASE WHEN $5 = 1 THEN $4 ELSE full_pull_succeeded_at END, \
             full_pull_error = CASE WHEN $5 = 1 THEN NULL ELSE full_pull_error END, \
             attempts = 0, last_error = NULL, last_error_code = NULL, last_success_at = $4, \
             next_attempt_at = NULL, \
             updated_at = $4 WHERE link_id = $2 AND resource = $3",
        )
        .bind(generation)
        .bind(&job.link_id)
        .bind(job.resource.name)
        .bind(now)
        .bind(i32::from(full))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// In the job's release: an attempt failed, `Some(next)` → retrying then, `None` → failed
    /// for good. A full pull's failure also stays as `full_pull_error`.
    pub(super) async fn mark_attempt_failed(
        tx: &mut Transaction<'static, Any>,
        job: &Job,
        error: super::Failure<'_>,
        next_attempt_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let state = if next_attempt_at.is_some() {
            SyncState::Retrying
        } else {
            SyncState::Failed
        };
        sqlx::query(
            "UPDATE sync_status SET state = $1, last_error = $2, next_attempt_at = $3, updated_at = $4, \
             full_pull_error = CASE WHEN $7 = 1 THEN $2 ELSE full_pull_error END, \
             last_error_code = $8 WHERE link_id = $5 AND resource = $6",
        )
        .bind(state.as_str())
        .bind(error.message)
        .bind(next_attempt_at)
        .bind(now)
        .bind(&job.link_id)
        .bind(job.resource.name)
        .bind(i32::from(job.mode == JobMode::Full))
        .bind(error.code)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Where an incremental pull starts: the newest `created_at` of the last complete pull.
    pub async fn watermark(
        &self,
        link_id: &str,
        resource: &'static Resource,
    ) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT watermark FROM sync_status WHERE link_id = $1 AND resource = $2")
                .bind(link_id)
                .bind(resource.name)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>, _>("watermark"))
            .transpose()?
            .flatten())
    }

    /// The generation of the last complete full pull (0 before any).
    pub async fn status_generation(
        &self,
        link_id: &str,
        resource: &'static Resource,
    ) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT generation FROM sync_status WHERE link_id = $1 AND resource = $2")
                .bind(link_id)
                .bind(resource.name)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>("generation"))
            .transpose()?
            .unwrap_or(0))
    }

    /// Every resource of a link that has a state.
    pub async fn statuses(&self, link_id: &str) -> Result<Vec<StatusRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT link_id, resource, state, generation, records, records_this_pull, expected_records, \
             attempts, last_error, last_success_at, last_attempt_at, next_attempt_at, \
             full_pull_succeeded_at, full_pull_error, last_error_code FROM sync_status WHERE link_id = $1 ORDER BY resource",
        )
        .bind(link_id)
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(resource) = Resource::from_name(&row.try_get::<String, _>("resource")?) else {
                continue;
            };
            out.push(StatusRow {
                link_id: row.try_get("link_id")?,
                resource,
                state: SyncState::parse(&row.try_get::<String, _>("state")?),
                generation: row.try_get("generation")?,
                records: row.try_get("records")?,
                records_this_pull: row.try_get("records_this_pull")?,
                expected_records: row.try_get("expected_records")?,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
                last_success_at: row.try_get("last_success_at")?,
                last_attempt_at: row.try_get("last_attempt_at")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                full_pull_succeeded_at: row.try_get("full_pull_succeeded_at")?,
                full_pull_error: row.try_get("full_pull_error")?,
                last_error_code: row.try_get("last_error_code")?,
            });
        }
        Ok(out)
    }

    /// Deletes everything kept for a link (its data, jobs, sync state and processed data
    /// webhooks) in one transaction; its row stays as a tombstone (`purged_at`), so that late
    /// webhooks are ignored and the watchdog skips it. With `erase` (its owner is being
    /// erased) every webhook of the link goes too and the tombstone forgets the owner. Returns
    /// the data rows deleted.
    pub async fn purge_link(&self, link_id: &str, erase: bool) -> Result<u64, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        // First: it holds the link's change counter, so no page of the link commits meanwhile.
        let change = self.next_change(&mut tx, link_id).await?;
        let tombstone = if erase {
            "UPDATE links SET purged_at = $1, refresh_due_at = NULL, owner = '' WHERE link_id = $2"
        } else {
            "UPDATE links SET purged_at = $1, refresh_due_at = NULL WHERE link_id = $2"
        };
        sqlx::query(tombstone)
            .bind(super::now_ms())
            .bind(link_id)
            .execute(&mut *tx)
            .await?;
        // An erased owner's links keep no change log (their cursors expire).
        let deleted = Store::purge_records(&mut tx, link_id, change.filter(|_| !erase)).await?;
        if erase {
            Store::forget_changes(&mut tx, link_id).await?;
        }
        Store::purge_jobs(&mut tx, link_id).await?;
        // Otherwise kept until retention removes them: webhooks not processed yet (the
        // `link_deleted` being acted on still has to reach link-service), and the link's LINK
        // webhooks, the record of its lifecycle (its id, status codes and Belvo's request ids).
        let webhooks = if erase {
            "DELETE FROM webhook_events WHERE link_id = $1"
        } else {
            "DELETE FROM webhook_events WHERE link_id = $1 AND state <> 'received' \
             AND webhook_type <> 'LINK'"
        };
        for sql in ["DELETE FROM sync_status WHERE link_id = $1", webhooks] {
            sqlx::query(sql).bind(link_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }
}
