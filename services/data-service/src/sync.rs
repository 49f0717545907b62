//! The sync workers: claim a job, pull its pages from Belvo from the job's checkpoint, commit
//! each page's rows with the next checkpoint in one transaction, then (for a full pull) sweep
//! the rows Belvo no longer returned. Failures retry with exponential backoff and jitter up to
//! a bounded number of attempts; a lost lease means another worker has the job.

use std::sync::Arc;
use std::time::Duration;

use belvo::{Filters, Page};
use rand::Rng;
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::config::SyncConfig;
use crate::resource::{self, IndexError};
use crate::store::{Failure, Job, JobMode, NewRecord, Release, Store, StoreError, now_ms};

/// Why one attempt of a job stopped.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("Belvo: {0}")]
    Belvo(#[from] belvo::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("Belvo returned an object without an id")]
    MissingId,
    #[error("Belvo returned an object that is not JSON: {0}")]
    BadObject(#[from] serde_json::Error),
    #[error("the link is not registered")]
    UnknownLink,
    #[error("no Belvo client for region `{0}`")]
    UnknownRegion(String),
    #[error("the link id `{0}` is not a UUID")]
    BadLinkId(String),
    #[error("stopped for shutdown")]
    Stopped,
    /// Not a failure: another job waits, and this one gave its turn up between pages.
    #[error("gave its turn up")]
    TurnGiven,
    /// Not a failure: a full pull of the same resource was requested; this incremental one
    /// stopped between pages and folds into it.
    #[error("superseded by a full pull")]
    Superseded,
    #[error("abandoned after {0} attempts whose worker stopped mid-job")]
    Abandoned(i32),
}

impl PullError {
    /// What an app may show its users: `belvo_<Belvo's error code>` when Belvo sent one
    /// (`belvo_login_error`, `belvo_too_many_sessions`, ...), `belvo_unavailable` when Belvo
    /// answered 5xx or could not be reached, `belvo_bad_answer` for an answer we cannot read,
    /// `belvo_error` for another Belvo refusal, and `internal` for our side.
    pub fn code(&self) -> String {
        match self {
            Self::Belvo(e) => match (e.code(), e.kind(), e.status()) {
                (Some(code), _, _) => format!("belvo_{}", code.as_str()),
                (None, "decode", _) => "belvo_bad_answer".to_owned(),
                (None, "http", Some(status)) if status.is_server_error() => {
                    "belvo_unavailable".to_owned()
                }
                (None, "http" | "refused_locally", _) => "belvo_error".to_owned(),
                (None, _, _) => "belvo_unavailable".to_owned(),
            },
            Self::MissingId | Self::BadObject(_) => "belvo_bad_answer".to_owned(),
            _ => "internal".to_owned(),
        }
    }

    /// Worth another attempt later.
    fn retryable(&self) -> bool {
        !matches!(
            self,
            Self::UnknownLink | Self::UnknownRegion(_) | Self::BadLinkId(_) | Self::Abandoned(_)
        )
    }
}

/// What workers share.
#[derive(Debug, Clone)]
pub struct Engine {
    pub store: Store,
    pub metrics: crate::metrics::Metrics,
    pub belvo: Arc<belvo_accounts::BelvoAccounts>,
    pub config: SyncConfig,
    /// Wakes idle workers when a job is enqueued.
    pub wake: Arc<Notify>,
    /// Link ids whose sync status changed, by any replica (for the status streams).
    pub changes: database::Feed,
    /// Fires at shutdown: workers stop between pages and hand their job back.
    pub stop: grpc_runtime::Shutdown,
}

impl Engine {
    /// Tells watchers on every replica that `link_id` has new work or progress.
    pub fn changed(&self, link_id: &str) {
        self.changes.publish(link_id);
    }

    /// Runs one worker until `stop` fires.
    pub async fn run_worker(self, worker: String) {
        let stop = self.stop.clone();
        loop {
            if stop.is_triggered() {
                return;
            }
            let now = now_ms();
            match self
                .store
                .claim_job(&worker, now, now + self.lease_ms())
                .await
            {
                Ok(Some(job)) => self.run_job(&worker, job).await,
                Ok(None) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                        () = stop.triggered() => return,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming a sync job failed");
                    tokio::select! {
                        () = tokio::time::sleep(self.config.poll_interval) => {}
                        () = stop.triggered() => return,
                    }
                }
            }
        }
    }

    fn lease_ms(&self) -> i64 {
        self.config.lease.as_millis() as i64
    }

    /// Runs one claimed job to its end (done, retry scheduled, failed, or lease lost).
    pub async fn run_job(&self, worker: &str, job: Job) {
        let span = tracing::info_span!("sync", link_id = %job.link_id, resource = %job.resource,
            mode = job.mode.as_str(), attempt = job.attempts);
        // The span covers every await of the job (an entered guard must not be held across
        // awaits: other tasks would run inside it).
        self.settle(worker, &job).instrument(span).await;
    }

    async fn settle(&self, worker: &str, job: &Job) {
        // A worker that died mid-job leaves it to be taken over; past the attempt limit
        // (a job that keeps killing its worker) it fails instead of going round forever.
        let outcome = if job.attempts > self.config.max_attempts {
            Err(PullError::Abandoned(job.attempts - 1))
        } else {
            self.pull_with_heartbeat(worker, job).await
        };
        let error = match outcome {
            Ok(rows) => {
                tracing::info!(rows, "sync complete");
                return;
            }
            Err(PullError::Store(StoreError::LeaseLost)) => {
                tracing::warn!("lease lost; another worker continues this job");
                return;
            }
            Err(PullError::TurnGiven) => {
                match self.store.park_job(job, worker, now_ms()).await {
                    Ok(()) => tracing::debug!("gave the turn to another job"),
                    Err(StoreError::LeaseLost) => {
                        tracing::warn!("lease lost; another worker continues this job");
                    }
                    // Still under lease: taken over once the lease expires.
                    Err(e) => tracing::error!(error = %e, "could not give a job's turn up"),
                }
                return;
            }
            Err(error) => error,
        };
        let now = now_ms();
        let (message, code) = (error.to_string(), error.code());
        let release = if matches!(error, PullError::Stopped) {
            // Handed back as it stands: the next worker resumes from its checkpoint.
            Release::HandBack
        } else if matches!(error, PullError::Superseded) {
            Release::Superseded
        } else {
            let next = (error.retryable() && job.attempts < self.config.max_attempts)
                .then(|| now + self.backoff(job.attempts).as_millis() as i64);
            tracing::warn!(error = %message, belvo_request_id = ?belvo_request_id(&error),
                retry_at = ?next, "sync attempt failed");
            let error = Failure {
                message: &message,
                code: &code,
            };
            match next {
                Some(at) => Release::Retry { error, at },
                None => Release::Fail { error },
            }
        };
        match self.store.release_job(job, worker, release, now).await {
            Ok(()) => {}
            Err(StoreError::LeaseLost) => {
                tracing::warn!("lease lost; another worker continues this job");
            }
            Err(e) => tracing::error!(error = %e, "could not release a job"),
        }
        self.changed(&job.link_id);
    }

    /// Pulls while renewing the job's lease every third of it, whatever the pages do (one page
    /// may wait out Belvo's retries and `Retry-After`); stops as soon as a renewal finds the
    /// job taken over.
    async fn pull_with_heartbeat(&self, worker: &str, job: &Job) -> Result<i64, PullError> {
        let heartbeat = async {
            let mut tick = tokio::time::interval(self.config.lease / 3);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = now_ms();
                match self
                    .store
                    .renew_lease(job, worker, now, now + self.lease_ms())
                    .await
                {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost) => return PullError::Store(StoreError::LeaseLost),
                    // A database blip: the next tick tries again, well within the lease.
                    Err(e) => tracing::warn!(error = %e, "could not renew a job's lease"),
                }
            }
        };
        tokio::select! {
            outcome = self.pull(worker, job) => outcome,
            // Dropping the pull rolls back its open transaction, if any.
            lost = heartbeat => Err(lost),
        }
    }

    /// Exponential backoff with equal jitter.
    fn backoff(&self, attempts: i32) -> Duration {
        let exp = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32))
            .min(self.config.retry_max);
        let half = exp / 2;
        half + Duration::from_millis(rand::rng().random_range(0..=half.as_millis() as u64))
    }

    async fn pull(&self, worker: &str, job: &Job) -> Result<i64, PullError> {
        let link = self
            .store
            .link(&job.link_id)
            .await?
            .ok_or(PullError::UnknownLink)?;
        let client = self
            .belvo
            .get(&link.region)
            .ok_or_else(|| PullError::UnknownRegion(link.region.clone()))?;
        let link_uuid: uuid::Uuid = job
            .link_id
            .parse()
            .map_err(|_| PullError::BadLinkId(job.link_id.clone()))?;
        let generation = match job.mode {
            JobMode::Full => self.store.assign_generation(job, worker).await?,
            JobMode::Incremental => {
                self.store
                    .status_generation(&job.link_id, job.resource)
                    .await?
            }
        };
        self.store
            .mark_running(
                &job.link_id,
                job.resource,
                job.attempts,
                job.rows_written,
                job.expected_rows,
                now_ms(),
            )
            .await?;
        self.changed(&job.link_id);

        let mut rows_written = job.rows_written;
        if !job.pages_complete {
            rows_written = self
                .pull_pages(worker, job, client, link_uuid, generation)
                .await?;
        }

        let now = now_ms();
        let mut tx = self.store.begin().await?;
        if job.mode == JobMode::Full {
            let change = self.store.next_change(&mut tx, &job.link_id).await?;
            let swept =
                Store::sweep_records(&mut tx, &job.link_id, job.resource, generation, change)
                    .await?;
            if swept > 0 {
                tracing::info!(swept, "removed rows Belvo no longer returns");
            }
        }
        Store::mark_succeeded(&mut tx, job, generation, now).await?;
        Store::finish_job(&mut tx, job, worker, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.changed(&job.link_id);
        Ok(rows_written)
    }

    /// Stores the job's pages from its checkpoint (the first page when it has none); returns
    /// the job's rows written. Page N+1 is fetched while page N is stored, unless the job stops
    /// after page N: the service stops, a full pull of the resource was requested and this one
    /// is incremental ([`PullError::Superseded`]), or another job at least as urgent waits
    /// ([`PullError::TurnGiven`]). No page is fetched that is not stored.
    async fn pull_pages(
        &self,
        worker: &str,
        job: &Job,
        client: &belvo::Client,
        link_uuid: uuid::Uuid,
        generation: i64,
    ) -> Result<i64, PullError> {
        let start = match &job.cursor {
            Some(cursor) => cursor.clone(),
            None => {
                let mut filters = Filters::new()
                    .link(link_uuid)
                    .page_size(self.config.page_size);
                if job.mode == JobMode::Incremental
                    && let Some(watermark) =
                        self.store.watermark(&job.link_id, job.resource).await?
                {
                    // `gte`: an object created in the same millisecond is upserted again,
                    // never missed.
                    filters = filters.gte("created_at", iso(watermark));
                }
                client.first_page_url(job.resource.path, &filters)?
            }
        };
        let client = client.with_priority(if self.config.priorities {
            job.priority
        } else {
            belvo::Priority::Update
        });
        let mut rows_written = job.rows_written;
        let mut fetching = Some(Fetch::start(&client, start));
        while let Some(fetch) = fetching.take() {
            let page = fetch.page().await?;
            let give_up = match &page.next {
                Some(_) if self.stop.is_triggered() => Some(PullError::Stopped),
                Some(_) if self.store.superseded(job).await? => Some(PullError::Superseded),
                Some(_) if self.store.turn_wanted(job, now_ms()).await? => {
                    Some(PullError::TurnGiven)
                }
                _ => None,
            };
            if let (Some(next), None) = (&page.next, &give_up) {
                fetching = Some(Fetch::start(&client, next.clone()));
            }
            rows_written += self
                .store_page(worker, job, generation, &page, rows_written)
                .await?;
            self.changed(&job.link_id);
            if let Some(reason) = give_up {
                return Err(reason);
            }
        }
        Ok(rows_written)
    }

    /// Writes one page and its checkpoint atomically; returns the rows written.
    async fn store_page(
        &self,
        worker: &str,
        job: &Job,
        generation: i64,
        page: &Page<Box<RawValue>>,
        rows_before: i64,
    ) -> Result<i64, PullError> {
        // Only the indexed fields are read (no `Value` is built); the body stays Belvo's text.
        let mut parsed = page
            .results
            .iter()
            .map(|raw| {
                let indexed = resource::index(job.resource, raw.get()).map_err(|e| match e {
                    IndexError::MissingId => PullError::MissingId,
                    IndexError::Json(e) => PullError::BadObject(e),
                })?;
                Ok((indexed, raw.get()))
            })
            .collect::<Result<Vec<_>, PullError>>()?;
        let rows: Vec<NewRecord<'_>> = parsed
            .iter_mut()
            .map(|(indexed, body)| NewRecord {
                id: indexed.id.as_str(),
                columns: std::mem::take(&mut indexed.columns),
                body,
                content_hash: indexed.content_hash,
            })
            .collect();
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        // First: it holds the link's change counter until this commits.
        let change = self.store.next_change(&mut tx, &job.link_id).await?;
        self.store
            .upsert_records(
                &mut tx,
                &job.link_id,
                job.resource,
                generation,
                now,
                &rows,
                change,
            )
            .await?;
        let count = rows.len() as i64;
        Store::checkpoint_job(
            &mut tx,
            job,
            worker,
            page.next.as_deref(),
            count,
            now,
            now + self.lease_ms(),
        )
        .await?;
        Store::mark_progress(
            &mut tx,
            &job.link_id,
            job.resource,
            rows_before + count,
            now,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.metrics
            .rows_synced
            .with_label_values(&[job.resource.name])
            .inc_by(count as u64);
        Ok(count)
    }
}

/// One page being fetched by its own task (while the previous page is stored); the fetch
/// stops when this is dropped.
struct Fetch(tokio::task::JoinHandle<Result<Page<Box<RawValue>>, belvo::Error>>);

impl Fetch {
    fn start(client: &belvo::Client, url: String) -> Self {
        let client = client.clone();
        Self(tokio::spawn(
            async move { client.page(&url).await }.in_current_span(),
        ))
    }

    async fn page(mut self) -> Result<Page<Box<RawValue>>, PullError> {
        match (&mut self.0).await {
            Ok(page) => Ok(page?),
            // Not cancelled (only our drop aborts it): the fetch panicked.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn belvo_request_id(error: &PullError) -> Option<&str> {
    match error {
        PullError::Belvo(e) => e.request_id(),
        _ => None,
    }
}
