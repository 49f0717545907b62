//! Durable pull jobs: coalescing enqueue, claiming with a lease, per-page checkpoints, and
//! retry, failure and completion. A worker renews its lease on a timer while it works; one that
//! dies leaves its lease to expire, and another worker then resumes the job from its last
//! checkpoint. Every transition checks the lease owner, so a worker that lost its job changes
//! nothing.

use std::collections::BTreeMap;

use belvo::Priority;
use database::Backend;
use database::sqlx::{self, Any, Row, Transaction};

use super::{Ingested, NewWebhook, Store, StoreError, WebhookState};
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

    fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "incremental" => Some(Self::Incremental),
            _ => None,
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
    /// Where its Belvo calls wait, and when it is claimed.
    pub priority: Priority,
    pub attempts: i32,
    pub cursor: Option<String>,
    pub generation: i64,
    pub rows_written: i64,
    pub expected_rows: Option<i64>,
    /// Every page is stored: only the completion (sweep, status) is left.
    pub pages_complete: bool,
}

/// The queue and backlog as the gauges show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub pending: i64,
    pub running: i64,
    /// The oldest pending or running job's age.
    pub oldest_job_age_ms: i64,
    pub resources_failed: i64,
    pub webhooks_held: i64,
    pub webhooks_unprocessed: i64,
}

/// A pull to schedule, as a webhook asks for it.
#[derive(Debug, Clone, Copy)]
pub struct Pull<'a> {
    pub link_id: &'a str,
    pub resource: &'static Resource,
    pub mode: JobMode,
    pub expected_rows: Option<i64>,
}

/// A webhook of a batch, with the state to store it in and the pull it schedules when it is
/// new.
#[derive(Debug, Clone, Copy)]
pub struct Planned<'a> {
    pub webhook: &'a NewWebhook,
    pub state: WebhookState,
    pub pull: Option<Pull<'a>>,
}

/// Rows of one batched upsert (at most 5 parameters each, far below both backends' limits).
const PULLS_PER_STATEMENT: usize = 200;
/// Ids of one `IN (...)`.
const IDS_PER_STATEMENT: usize = 500;

/// How a worker gives a job back.
#[derive(Debug, Clone, Copy)]
pub enum Release<'a> {
    /// At shutdown: due again now, from its checkpoint, without counting as a failure.
    HandBack,
    /// An incremental pull stopped between pages because a full pull of the same resource
    /// was requested meanwhile: it folds into that one, without counting as a failure.
    Superseded,
    /// A failed attempt, tried again at `at`.
    Retry { error: Failure<'a>, at: i64 },
    /// A failed attempt, the last one.
    Fail { error: Failure<'a> },
}

/// Why an attempt failed: the text for operators, and a stable code for apps (see
/// `ResourceSync.error_code`).
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    pub message: &'a str,
    pub code: &'a str,
}

const RETURNING: &str = "id, link_id, resource, mode, priority, attempts, cursor, generation, \
                         rows_written, expected_rows, pages_complete";

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<Option<Job>, sqlx::Error> {
    // The claim only takes jobs this version knows (`known_jobs`).
    let resource: String = row.try_get("resource")?;
    let Some(resource) = Resource::from_name(&resource) else {
        return Ok(None);
    };
    let Some(mode) = JobMode::parse(&row.try_get::<String, _>("mode")?) else {
        return Ok(None);
    };
    Ok(Some(Job {
        id: row.try_get("id")?,
        link_id: row.try_get("link_id")?,
        resource,
        mode,
        priority: Priority::from_rank(row.try_get("priority")?),
        attempts: row.try_get("attempts")?,
        cursor: row.try_get("cursor")?,
        generation: row.try_get("generation")?,
        rows_written: row.try_get("rows_written")?,
        expected_rows: row.try_get("expected_rows")?,
        pages_complete: row.try_get::<i32, _>("pages_complete")? != 0,
    }))
}

/// The SQL condition on a job row `j` that this version knows its resource and mode. A job
/// written by a newer release during a rolling deploy is left for a replica of that release.
fn known_jobs() -> String {
    let resources = Resource::ALL
        .iter()
        .map(|r| format!("'{}'", r.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!("j.resource IN ({resources}) AND j.mode IN ('full', 'incremental')")
}

/// The priority a pull of `link`'s `resource` is stored with (SQL): `requested`, except that a
/// webhook's update of a resource never pulled yet is the link's first pull.
fn priority_sql(link: &str, resource: &str, requested: &str) -> String {
    format!(
        "CASE WHEN {requested} = {update} AND NOT EXISTS (SELECT 1 FROM sync_status s \
         WHERE s.link_id = {link} AND s.resource = {resource} AND s.last_success_at IS NOT NULL) \
         THEN {first} ELSE {requested} END",
        update = Priority::Update.rank(),
        first = Priority::FirstPull.rank(),
    )
}

/// What a pending job that absorbs another keeps: the stronger mode, the count announced last,
/// the more urgent priority.
const ABSORB: &str = "ON CONFLICT (link_id, resource) WHERE state = 'pending' DO UPDATE SET \
     mode = CASE WHEN sync_jobs.mode = 'full' OR excluded.mode = 'full' THEN 'full' \
     ELSE 'incremental' END, \
     expected_rows = COALESCE(excluded.expected_rows, sync_jobs.expected_rows), \
     priority = CASE WHEN excluded.priority < sync_jobs.priority THEN excluded.priority \
     ELSE sync_jobs.priority END, \
     updated_at = excluded.updated_at";

/// The SQL condition that job `j` may be claimed at `now` (the parameter `now`): pending and
/// due, with no job of its link's resource under way; or under way with its lease expired (its
/// worker died, or gave its turn up between pages).
fn claimable(now: &str) -> String {
    format!(
        "{known} AND ((j.state = 'pending' AND j.run_after <= {now} AND NOT EXISTS (SELECT 1 \
         FROM sync_jobs r WHERE r.link_id = j.link_id AND r.resource = j.resource \
         AND r.state = 'running')) OR (j.state = 'running' AND j.lease_until < {now}))",
        known = known_jobs()
    )
}

impl Store {
    /// Schedules a pull of one link's resource. A job already pending for it absorbs this one
    /// (a full pull wins over an incremental one), so a burst of webhooks makes one pull; and
    /// while the resource's last full pull has failed, every pull is full (only a full pull
    /// sweeps what Belvo deleted). The job and its `pending` status commit together: a worker
    /// that claimed the job and finished it before the status was written would otherwise
    /// leave it `pending` for good.
    pub async fn enqueue_job(
        &self,
        link_id: &str,
        resource: &'static Resource,
        mode: JobMode,
        priority: Priority,
        expected_rows: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        // One write statement (SQLite: a transaction that reads before it writes cannot wait
        // for the write lock, it fails at once when another writer came first).
        let mut tx = self.db.pool().begin().await?;
        let sql = format!(
            "INSERT INTO sync_jobs (id, link_id, resource, mode, priority, state, attempts, \
             run_after, generation, rows_written, expected_rows, created_at, updated_at) \
             VALUES ($1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM sync_status s \
               WHERE s.link_id = $2 AND s.resource = $3 AND s.full_pull_error IS NOT NULL) \
             THEN 'full' ELSE $4 END, {priority}, 'pending', 0, $5, 0, 0, $6, $5, $5) {ABSORB}",
            priority = priority_sql("$2", "$3", "$7"),
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(link_id)
            .bind(resource.name)
            .bind(mode.as_str())
            .bind(now)
            .bind(expected_rows)
            .bind(priority.rank())
            .execute(&mut *tx)
            .await?;
        Store::mark_pending(&mut tx, link_id, resource, expected_rows, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a batch of webhooks and schedules the pulls of the new ones, in one transaction
    /// and one commit: each webhook is stored in its planned state (redeliveries only count,
    /// as [`Store::insert_webhooks`] does), and each pull of a new webhook is scheduled as
    /// [`Store::enqueue_job`] does, one job per link resource (a full pull wins, the last
    /// announced count is kept), with Belvo's announcement noted on its link. Belvo's mix of
    /// webhooks spread over many links then costs a few statements and one commit per batch.
    /// Rows are written in a sorted order, so concurrent batches lock them alike.
    pub async fn store_and_schedule(
        &self,
        batch: &[Planned<'_>],
        now: i64,
    ) -> Result<Vec<Ingested>, StoreError> {
        let rows: Vec<(&NewWebhook, WebhookState)> =
            batch.iter().map(|p| (p.webhook, p.state)).collect();
        let mut tx = self.db.pool().begin().await?;
        let ingested = self.insert_webhooks_in(&mut tx, &rows).await?;
        let mut merged: BTreeMap<(&str, &str), Pull<'_>> = BTreeMap::new();
        for (planned, outcome) in batch.iter().zip(&ingested) {
            let (Some(pull), Ingested::New) = (planned.pull, outcome) else {
                continue;
            };
            merged
                .entry((pull.link_id, pull.resource.name))
                .and_modify(|m| {
                    if pull.mode == JobMode::Full {
                        m.mode = JobMode::Full;
                    }
                    m.expected_rows = pull.expected_rows.or(m.expected_rows);
                })
                .or_insert(pull);
        }
        let pulls: Vec<Pull<'_>> = merged.into_values().collect();
        let mut links: Vec<&str> = pulls.iter().map(|p| p.link_id).collect();
        links.dedup();
        for chunk in pulls.chunks(PULLS_PER_STATEMENT) {
            // $1 is now; then each row's parameters.
            let jobs = values(chunk.len(), 5, |p| {
                format!(
                    "({id}, {l}, {res}, CASE WHEN EXISTS (SELECT 1 FROM sync_status s \
                     WHERE s.link_id = {l} AND s.resource = {res} AND s.full_pull_error IS NOT NULL) \
                     THEN 'full' ELSE {mode} END, {priority}, 'pending', 0, $1, 0, 0, {exp}, $1, $1)",
                    id = p[0],
                    l = p[1],
                    res = p[2],
                    mode = p[3],
                    exp = p[4],
                    priority = priority_sql(&p[1], &p[2], &Priority::Update.rank().to_string()),
                )
            });
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO sync_jobs (id, link_id, resource, mode, priority, state, attempts, \
                 run_after, generation, rows_written, expected_rows, created_at, updated_at) \
                 VALUES {jobs} {ABSORB}"
            )))
            .bind(now);
            for pull in chunk {
                query = query
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(pull.link_id)
                    .bind(pull.resource.name)
                    .bind(pull.mode.as_str())
                    .bind(pull.expected_rows);
            }
            query.execute(&mut *tx).await?;
            let statuses = values(chunk.len(), 3, |p| {
                format!(
                    "({}, {}, 'pending', 0, 0, 0, {}, 0, $1, $1)",
                    p[0], p[1], p[2]
                )
            });
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO sync_status (link_id, resource, state, generation, records, \
                 records_this_pull, expected_records, attempts, next_attempt_at, updated_at) \
                 VALUES {statuses} ON CONFLICT (link_id, resource) DO UPDATE SET \
                 state = CASE WHEN sync_status.state = 'running' THEN 'running' ELSE 'pending' END, \
                 expected_records = COALESCE(excluded.expected_records, sync_status.expected_records), \
                 next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at"
            )))
            .bind(now);
            for pull in chunk {
                query = query
                    .bind(pull.link_id)
                    .bind(pull.resource.name)
                    .bind(pull.expected_rows);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in links.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE links SET last_webhook_at = $1, refresh_due_at = $1 + refresh_ms \
                 WHERE link_id IN ({})",
                super::placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
            for link in chunk {
                query = query.bind(*link);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ingested)
    }

    /// Claims the next due job for `worker` until `lease_until`: a pending job whose link and
    /// resource has no job running, or a running job whose lease expired (its worker stopped
    /// renewing it, or gave its turn up); the most urgent first, then the one waiting longest.
    /// Only jobs this version knows are claimed.
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
             WHERE id = (SELECT j.id FROM sync_jobs j WHERE {} \
             ORDER BY {order} LIMIT 1 {lock}) \
             RETURNING {RETURNING}",
            claimable("$3"),
            order = if self.priorities {
                "j.priority, j.run_after"
            } else {
                "j.run_after"
            },
        );
        // Committed before the job runs: `fetch_optional` returns at the first row, before an
        // implicit commit would have happened.
        let mut tx = self.db.pool().begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row.as_ref().map(job_from_row).transpose()?.flatten())
    }

    /// Gives a full job its generation (once), returning it: one above every generation handed
    /// out for the link's resource before, complete or not, so the sweep at its end removes
    /// every row an earlier, abandoned pull wrote and this one did not see.
    pub async fn assign_generation(&self, job: &Job, worker: &str) -> Result<i64, StoreError> {
        if job.generation > 0 {
            return Ok(job.generation);
        }
        let mut tx = self.db.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE sync_status SET issued_generation = CASE WHEN issued_generation > generation \
             THEN issued_generation ELSE generation END + 1 \
             WHERE link_id = $1 AND resource = $2 RETURNING issued_generation",
        )
        .bind(&job.link_id)
        .bind(job.resource.name)
        .fetch_optional(&mut *tx)
        .await?;
        // Every job is enqueued with its status row; a missing one means the link was purged.
        let Some(row) = row else {
            return Err(StoreError::LeaseLost);
        };
        let generation: i64 = row.try_get("issued_generation")?;
        let owned = sqlx::query(
            "UPDATE sync_jobs SET generation = $1 WHERE id = $2 AND lease_owner = $3 \
             AND state = 'running'",
        )
        .bind(generation)
        .bind(&job.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if owned.rows_affected() != 1 {
            return Err(StoreError::LeaseLost);
        }
        tx.commit().await?;
        Ok(generation)
    }

    /// Extends the lease of a job `worker` runs (the heartbeat); [`StoreError::LeaseLost`] when
    /// another worker has it.
    pub async fn renew_lease(
        &self,
        job: &Job,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE sync_jobs SET lease_until = $1, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(lease_until)
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(self.db.pool())
        .await?;
        owned(done.rows_affected())
    }

    /// Whether a job other than `job`, at least as urgent, could be claimed at `now`: then
    /// `job` gives its turn up after its current page ([`Store::park_job`]).
    pub async fn turn_wanted(&self, job: &Job, now: i64) -> Result<bool, StoreError> {
        if !self.priorities {
            return Ok(false);
        }
        let sql = format!(
            "SELECT 1 FROM sync_jobs j WHERE j.id <> $1 AND j.priority <= $2 AND {} LIMIT 1",
            claimable("$3")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&job.id)
            .bind(job.priority.rank())
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Whether `job`, an incremental pull, is superseded: a full pull of its link's resource
    /// waits, which will pull everything again (the rest of `job`'s pages would be requests
    /// spent for nothing).
    pub async fn superseded(&self, job: &Job) -> Result<bool, StoreError> {
        if job.mode == JobMode::Full {
            return Ok(false);
        }
        let row = sqlx::query(
            "SELECT 1 FROM sync_jobs WHERE link_id = $1 AND resource = $2 AND state = 'pending' \
             AND mode = 'full' AND id <> $3",
        )
        .bind(&job.link_id)
        .bind(job.resource.name)
        .bind(&job.id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Gives `job`'s turn up after a page: it stays under way from its checkpoint (a pending
    /// pull of its link's resource still waits for it), claimable at once, behind the jobs of
    /// its priority that waited longer; the claim that gave it the turn is not an attempt.
    pub async fn park_job(&self, job: &Job, worker: &str, now: i64) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE sync_jobs SET lease_owner = NULL, lease_until = 0, run_after = $1, \
             attempts = attempts - 1, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(self.db.pool())
        .await?;
        owned(done.rows_affected())
    }

    /// In the page's transaction: moves the job's cursor past the page (`None` after the last
    /// page: the job is then marked as having every page) and renews its lease.
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
            "UPDATE sync_jobs SET cursor = $1, pages_complete = $2, rows_written = rows_written + $3, \
             lease_until = $4, updated_at = $5 WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
        )
        .bind(cursor)
        .bind(i32::from(cursor.is_none()))
        .bind(rows)
        .bind(lease_until)
        .bind(now)
        .bind(&job.id)
        .bind(worker)
        .execute(&mut **tx)
        .await?;
        owned(done.rows_affected())
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
        owned(done.rows_affected())
    }

    /// Gives a job back, in one transaction with its status, and only while `worker` still
    /// holds it ([`StoreError::LeaseLost`] otherwise, changing nothing).
    ///
    /// Handed back or retried, the job waits again from its checkpoint, unless another pull of
    /// the link's resource was requested meanwhile: the job then folds into that pending one,
    /// which keeps the stronger mode and the earlier due time and starts over (the pages this
    /// job already passed may have changed since; its generation is never reused, so the
    /// sweep stays exact). A failed attempt of a full pull is also kept apart, as the
    /// resource's `full_pull_error`, until a full pull succeeds.
    pub async fn release_job(
        &self,
        job: &Job,
        worker: &str,
        release: Release<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (error, run_after) = match release {
            Release::HandBack => (
                Failure {
                    message: "stopped for shutdown",
                    code: "",
                },
                Some(now),
            ),
            Release::Superseded => (
                Failure {
                    message: "superseded by a full pull requested meanwhile",
                    code: "",
                },
                Some(now),
            ),
            Release::Retry { error, at } => (error, Some(at)),
            Release::Fail { error } => (error, None),
        };
        let mut tx = self.db.pool().begin().await?;
        // Written first, checking the lease (SQLite: see `enqueue_job`).
        let state = if run_after.is_none() {
            "'failed'"
        } else {
            "CASE WHEN EXISTS (SELECT 1 FROM sync_jobs p WHERE p.link_id = sync_jobs.link_id \
             AND p.resource = sync_jobs.resource AND p.state = 'pending') THEN 'done' ELSE 'pending' END"
        };
        let sql = format!(
            "UPDATE sync_jobs SET state = {state}, run_after = COALESCE($1, run_after), \
             last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3 \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running' RETURNING state"
        );
        let mine = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run_after)
            .bind(error.message)
            .bind(now)
            .bind(&job.id)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::LeaseLost)?;
        if mine.try_get::<String, _>("state")? == "done" {
            sqlx::query(
                "UPDATE sync_jobs SET mode = CASE WHEN mode = 'full' OR $1 = 'full' THEN 'full' \
                 ELSE 'incremental' END, run_after = CASE WHEN run_after < $2 THEN run_after ELSE $2 END, \
                 updated_at = $3 WHERE link_id = $4 AND resource = $5 AND state = 'pending'",
            )
            .bind(job.mode.as_str())
            .bind(run_after.unwrap_or(now))
            .bind(now)
            .bind(&job.link_id)
            .bind(job.resource.name)
            .execute(&mut *tx)
            .await?;
        }
        if !matches!(release, Release::HandBack | Release::Superseded) {
            Store::mark_attempt_failed(&mut tx, job, error, run_after, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What the gauges show, at `now`.
    pub async fn gauges(&self, now: i64) -> Result<Gauges, StoreError> {
        let mut g = Gauges::default();
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM sync_jobs \
             WHERE state IN ('pending', 'running') GROUP BY state",
        )
        .fetch_all(self.db.pool())
        .await?;
        for row in &rows {
            let (state, n): (String, i64) = (row.try_get("state")?, row.try_get("n")?);
            let oldest: Option<i64> = row.try_get("oldest")?;
            g.oldest_job_age_ms = g.oldest_job_age_ms.max(oldest.map_or(0, |o| now - o));
            if state == "pending" {
                g.pending = n;
            } else {
                g.running = n;
            }
        }
        let count = |sql: &'static str| async move {
            let n: i64 = sqlx::query_scalar(sql).fetch_one(self.db.pool()).await?;
            Ok::<_, StoreError>(n)
        };
        g.resources_failed =
            count("SELECT COUNT(*) FROM sync_status WHERE state = 'failed'").await?;
        g.webhooks_held = count("SELECT COUNT(*) FROM webhook_events WHERE state = 'held'").await?;
        g.webhooks_unprocessed =
            count("SELECT COUNT(*) FROM webhook_events WHERE state = 'received'").await?;
        Ok(g)
    }

    /// Deletes finished jobs last changed before `jobs_before`, and webhooks received before
    /// `webhooks_before` that need nothing more (any state but `received`), a batch at a time
    /// so that no statement holds many rows; returns how many of each.
    pub async fn delete_expired(
        &self,
        jobs_before: i64,
        webhooks_before: i64,
    ) -> Result<(u64, u64), StoreError> {
        const BATCH: i64 = 1000;
        let mut deleted = [0u64; 2];
        for (i, (sql, before)) in [
            (
                "DELETE FROM sync_jobs WHERE id IN (SELECT id FROM sync_jobs \
                 WHERE state IN ('done', 'failed') AND updated_at < $1 LIMIT $2)",
                jobs_before,
            ),
            (
                "DELETE FROM webhook_events WHERE webhook_id IN (SELECT webhook_id FROM webhook_events \
                 WHERE received_at < $1 AND state <> 'received' LIMIT $2)",
                webhooks_before,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            loop {
                let done = sqlx::query(sql)
                    .bind(before)
                    .bind(BATCH)
                    .execute(self.db.pool())
                    .await?
                    .rows_affected();
                deleted[i] += done;
                if done < BATCH as u64 {
                    break;
                }
            }
        }
        Ok((deleted[0], deleted[1]))
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

/// `rows` VALUES rows of `width` parameters each, numbered from $2 (`row` writes one row from
/// its placeholders).
fn values(rows: usize, width: usize, row: impl Fn(&[String]) -> String) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (0..width)
                .map(|i| format!("${}", 2 + r * width + i))
                .collect();
            row(&p)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A write that must have changed exactly the job's row: otherwise another worker has it.
fn owned(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
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
