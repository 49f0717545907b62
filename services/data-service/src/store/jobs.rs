//! Durable pull jobs: coalescing enqueue, claiming with a lease, per-page checkpoints, and
//! retry, failure and completion. A worker that dies leaves its lease to expire; another
//! worker then resumes the job from its last checkpoint.

use database::Backend;
use database::sqlx::{self, Any, Row, Transaction};

use super::{Store, StoreError};
use crate::resource::Resource;

/// How much a job pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobMode {
    /// Everything, then sweep rows Belvo no longer returns.
    Full,
    /// Only objects newer than the stored watermark.
    Incremental,
}

impl JobMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Done,
    Failed,
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub link_id: String,
    pub resource: &'static Resource,
    pub mode: JobMode,
    pub attempts: i32,
    pub cursor: Option<String>,
    pub generation: i64,
    pub rows_written: i64,
    pub expected_rows: Option<i64>,
}

const RETURNING: &str =
    "id, link_id, resource, mode, attempts, cursor, generation, rows_written, expected_rows";

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<Option<Job>, sqlx::Error> {
    let resource: String = row.try_get("resource")?;
    let Some(resource) = Resource::from_name(&resource) else {
        return Ok(None);
    };
    let mode: String = row.try_get("mode")?;
    Ok(Some(Job {
        id: row.try_get("id")?,
        link_id: row.try_get("link_id")?,
        resource,
        mode: if mode == "incremental" {
            JobMode::Incremental
        } else {
            JobMode::Full
        },
        attempts: row.try_get("attempts")?,
        cursor: row.try_get("cursor")?,
        generation: row.try_get("generation")?,
        rows_written: row.try_get("rows_written")?,
        expected_rows: row.try_get("expected_rows")?,
    }))
}

impl Store {
    /// Schedules a pull of one link's resource. A job already pending for it absorbs this one
    /// (a full pull wins over an incremental one), so a burst of webhooks makes one pull. The
    /// job and its `pending` status commit together: a worker that claimed the job and
    /// finished it before the status was written would otherwise leave it `pending` for good.
    pub async fn enqueue_job(
        &self,
        link_id: &str,
        resource: &'static Resource,
        mode: JobMode,
        expected_rows: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO sync_jobs (id, link_id, resource, mode, state, attempts, run_after, \
             generation, rows_written, expected_rows, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, 0, $6, $5, $5) \
             ON CONFLICT (link_id, resource) WHERE state = 'pending' DO UPDATE SET \
             mode = CASE WHEN sync_jobs.mode = 'full' OR excluded.mode = 'full' THEN 'full' \
             ELSE 'incremental' END, \
             expected_rows = COALESCE(excluded.expected_rows, sync_jobs.expected_rows), \
             updated_at = excluded.updated_at",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(link_id)
        .bind(resource.name)
        .bind(mode.as_str())
        .bind(now)
        .bind(expected_rows)
        .execute(&mut *tx)
        .await?;
        Store::mark_pending(&mut tx, link_id, resource, expected_rows, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims the next due job for `worker` until `lease_until`: a pending job whose link and
    /// resource has no job running, or a running job whose lease expired (its worker died).
    pub async fn claim_job(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<Job>, StoreError> {
        // The one backend seam: PostgreSQL lets concurrent claimers skip each other's rows;
        // SQLite serialises writers, so the same statement is already exclusive there.
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE sync_jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT j.id FROM sync_jobs j WHERE \
               (j.state = 'pending' AND j.run_after <= $3 AND NOT EXISTS (SELECT 1 FROM sync_jobs r \
                  WHERE r.link_id = j.link_id AND r.resource = j.resource AND r.state = 'running')) \
               OR (j.state = 'running' AND j.lease_until < $3) \
             ORDER BY j.run_after LIMIT 1 {lock}) \
             RETURNING {RETURNING}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?.flatten())
    }

    /// Gives a full job its generation (once), returning it.
    pub async fn assign_generation(&self, job: &Job) -> Result<i64, StoreError> {
        if job.generation > 0 {
            return Ok(job.generation);
        }
        let current = self.status_generation(&job.link_id, job.resource).await?;
        let generation = current + 1;
        sqlx::query("UPDATE sync_jobs SET generation = $1 WHERE id = $2")
            .bind(generation)
            .bind(&job.id)
            .execute(self.db.pool())
            .await?;
        Ok(generation)
    }

    /// In the page's transaction: moves the job's cursor past the page and renews its lease.
    /// Fails with [`StoreError::LeaseLost`] when another worker took the job over.
    pub async fn checkpoint_job(
        tx: &mut Transaction<'static, Any>,
        job: &Job,
        worker: &str,
        cursor: Option<&str>,
        rows: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE sync_jobs SET cursor = $1, rows_written = rows_written + $2, lease_until = $3, \
             updated_at = $4 WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
        )
        .bind(cursor)
        .bind(rows)
        .bind(lease_until)
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    /// In the final transaction: marks the job done.
    pub async fn finish_job(
        tx: &mut Transaction<'static, Any>,
        job: &Job,
        worker: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE sync_jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, \
             updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::LeaseLost)
        }
    }

    /// Puts a failed attempt back in the queue at `run_after`, keeping its checkpoint, or
    /// marks the job failed when `run_after` is `None`.
    pub async fn release_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        run_after: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let state = if run_after.is_some() {
            "pending"
        } else {
            "failed"
        };
        // A pending job for the same link and resource may have arrived meanwhile; a retried
        // job then folds into it rather than breaking the one-pending rule.
        if run_after.is_some() {
            let waiting = sqlx::query(
                "SELECT id FROM sync_jobs WHERE link_id = $1 AND resource = $2 AND state = 'pending'",
            )
            .bind(&job.link_id)
            .bind(job.resource.name)
            .fetch_optional(self.db.pool())
            .await?;
            if waiting.is_some() {
                sqlx::query("UPDATE sync_jobs SET state = 'done', last_error = $1, updated_at = $2 WHERE id = $3")
                    .bind(error)
                    .bind(now)
                    .bind(&job.id)
                    .execute(self.db.pool())
                    .await?;
                return Ok(());
            }
        }
        sqlx::query(
            "UPDATE sync_jobs SET state = $1, run_after = COALESCE($2, run_after), last_error = $3, \
             lease_owner = NULL, lease_until = NULL, updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6",
        )
        .bind(state)
        .bind(run_after)
        .bind(error)
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Jobs pending or running (queue depth), and the oldest pending job's age in ms.
    pub async fn queue_depth(&self, now: i64) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sync_jobs \
             WHERE state IN ('pending', 'running')",
        )
        .fetch_one(self.db.pool())
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok((row.try_get("n")?, oldest.map_or(0, |o| now - o)))
    }

    /// Deletes a link's jobs.
    pub async fn purge_jobs(
        tx: &mut Transaction<'static, Any>,
        link_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sync_jobs WHERE link_id = $1")
            .bind(link_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}
