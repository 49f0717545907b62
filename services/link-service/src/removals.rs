//! The durable removal of links and erasure of owners (issue 14). A deleted link, and every
//! link of an owner being erased, gets a `link_removals` row; a worker on every replica takes
//! the due rows under a lease and does what is left — Belvo's delete, data-service's purge, and
//! for an erased owner the link's own rows here — retrying with backoff until each step is
//! confirmed, whatever was down meanwhile. An erasure (`erasures`) finishes once its links are
//! removed and token-service forgot the owner; links its owner registered meanwhile are swept
//! in before it does.

use std::sync::Arc;
use std::time::Duration;

use belvo_accounts::BelvoAccounts;
use grpc_runtime::Shutdown;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row as _};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::convert::now_ms;
use crate::data_service::DataService;
use crate::owners::ExternalIds;
use crate::store::{Store, StoreError};

/// How the removal worker paces itself (`[removals]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemovalsConfig {
    /// How often each replica looks for due work (it is also woken by new work).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// The first retry's delay; each later one doubles, up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    /// The longest delay between retries.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
}

impl Default for RemovalsConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(5),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }
}

impl settings::Validate for RemovalsConfig {
    fn validate(&self, report: &mut settings::Report) {
        for (key, value) in [
            ("poll_interval", self.poll_interval),
            ("retry_base", self.retry_base),
        ] {
            report.check(!value.is_zero(), key, "must be greater than zero");
        }
        report.check(
            self.retry_max >= self.retry_base,
            "retry_max",
            "must be at least retry_base",
        );
    }
}

/// How long a replica holds a row it works on before another may take it over (every step is
/// idempotent: one taken over is only repeated).
const LEASE_MS: i64 = 60_000;
/// Rows taken per pass.
const BATCH: i64 = 50;

/// An owner's erasure, as stored, with the progress of its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erasure {
    pub(crate) requested_at: i64,
    pub(crate) finished_at: Option<i64>,
    pub(crate) links: i64,
    pub(crate) links_deleted_at_belvo: i64,
    pub(crate) links_purged: i64,
    pub(crate) token_service_erased: bool,
    pub(crate) last_error: Option<String>,
}

/// A link removal taken by this replica.
#[derive(Debug)]
struct Removal {
    link_id: String,
    region: String,
    erasure_owner: Option<String>,
    belvo_deleted: bool,
    purged: bool,
    attempts: i64,
}

/// The removal and erasure work, shared by the handlers and the worker.
#[derive(Debug, Clone)]
pub(crate) struct Removals {
    pool: AnyPool,
    store: Store,
    belvo: BelvoAccounts,
    data: DataService,
    tokens: ExternalIds,
    config: RemovalsConfig,
    wake: Arc<Notify>,
}

impl Removals {
    pub(crate) fn new(
        pool: AnyPool,
        store: Store,
        belvo: BelvoAccounts,
        data: DataService,
        tokens: ExternalIds,
        config: RemovalsConfig,
    ) -> Self {
        Self {
            pool,
            store,
            belvo,
            data,
            tokens,
            config,
            wake: Arc::default(),
        }
    }

    /// Marks `owner`'s links DELETED and records their removal and the erasure, in one
    /// transaction; an erasure already under way is returned as it is.
    pub(crate) async fn erase(&self, owner: &str) -> Result<Erasure, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let under_way: Option<i64> = sqlx::query_scalar(
            "SELECT requested_at FROM erasures WHERE owner = $1 AND finished_at IS NULL",
        )
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        if under_way.is_none() {
            let links = enqueue_links_of(&mut tx, owner, now).await?;
            sqlx::query(
                "INSERT INTO erasures (owner, requested_at, links, token_service_erased_at, \
                 finished_at, attempts, last_error, next_attempt_at, lease_until) \
                 VALUES ($1, $2, $3, NULL, NULL, 0, NULL, $2, 0) \
                 ON CONFLICT (owner) DO UPDATE SET requested_at = $2, links = $3, \
                 token_service_erased_at = NULL, finished_at = NULL, attempts = 0, \
                 last_error = NULL, next_attempt_at = $2, lease_until = 0",
            )
            .bind(owner)
            .bind(now)
            .bind(links.len() as i64)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            for link_id in &links {
                self.store.changed(link_id);
            }
            self.wake.notify_one();
        } else {
            tx.commit().await?;
        }
        self.erasure(owner)
            .await?
            .ok_or_else(|| StoreError::Decode(anyhow::anyhow!("the erasure just stored is gone")))
    }

    /// `owner`'s erasure, if one was asked for.
    pub(crate) async fn erasure(&self, owner: &str) -> Result<Option<Erasure>, StoreError> {
        let row = sqlx::query(
            "SELECT requested_at, finished_at, links, token_service_erased_at, last_error, \
             (SELECT COUNT(*) FROM link_removals r WHERE r.erasure_owner = e.owner \
              AND r.requested_at >= e.requested_at AND r.belvo_deleted_at IS NOT NULL) AS deleted, \
             (SELECT COUNT(*) FROM link_removals r WHERE r.erasure_owner = e.owner \
              AND r.requested_at >= e.requested_at AND r.purged_at IS NOT NULL) AS purged, \
             (SELECT MAX(r.last_error) FROM link_removals r WHERE r.erasure_owner = e.owner \
              AND r.done_at IS NULL) AS link_error \
             FROM erasures e WHERE owner = $1",
        )
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_erased: Option<i64> = row.try_get("token_service_erased_at")?;
        let last_error: Option<String> = row.try_get("link_error")?;
        Ok(Some(Erasure {
            requested_at: row.try_get("requested_at")?,
            finished_at: row.try_get("finished_at")?,
            links: row.try_get("links")?,
            links_deleted_at_belvo: row.try_get("deleted")?,
            links_purged: row.try_get("purged")?,
            token_service_erased: token_erased.is_some(),
            last_error: last_error.or(row.try_get("last_error")?),
        }))
    }

    /// Marks a link Belvo just deleted DELETED and records what is left of its removal (the
    /// purge), in one transaction; then tries the purge at once.
    pub(crate) async fn deleted_at_belvo(
        &self,
        link_id: &str,
        region: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        mark_deleted(&mut tx, link_id, now).await?;
        sqlx::query(
            "INSERT INTO link_removals (link_id, region, erasure_owner, requested_at, \
             belvo_deleted_at, purged_at, done_at, attempts, last_error, next_attempt_at, \
             lease_until) VALUES ($1, $2, NULL, $3, $3, NULL, NULL, 0, NULL, $3, 0) \
             ON CONFLICT (link_id) DO NOTHING",
        )
        .bind(link_id)
        .bind(region)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.store.changed(link_id);
        if let Some(removal) = self.take(link_id, now).await? {
            self.advance(removal).await;
        }
        Ok(())
    }

    /// Works until `shutdown`: every `poll_interval`, or when woken, the due removals and
    /// erasures.
    pub(crate) async fn run(self, shutdown: Shutdown) {
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %e, "a removal pass failed; retried on the next one");
            }
            tokio::select! {
                () = shutdown.triggered() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    /// One pass: the due link removals, then the due erasures.
    async fn pass(&self) -> Result<(), StoreError> {
        let now = now_ms();
        for link_id in self.due("link_removals", "link_id", "done_at", now).await? {
            if let Some(removal) = self.take(&link_id, now).await? {
                self.advance(removal).await;
            }
        }
        for owner in self.due("erasures", "owner", "finished_at", now).await? {
            if self.lease("erasures", "owner", &owner, now).await? {
                self.advance_erasure(&owner).await?;
            }
        }
        Ok(())
    }

    /// The keys of `table`'s unfinished rows due by `now` that no replica holds, oldest first.
    async fn due(
        &self,
        table: &str,
        key_column: &str,
        finished_column: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT {key_column} FROM {table} WHERE {finished_column} IS NULL \
             AND next_attempt_at <= $1 AND lease_until <= $1 ORDER BY next_attempt_at LIMIT $2"
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Takes the lease of `table`'s row `key` unless another replica holds it.
    async fn lease(
        &self,
        table: &str,
        key_column: &str,
        key: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {table} SET lease_until = $1 WHERE {key_column} = $2 AND lease_until <= $3"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now + LEASE_MS)
            .bind(key)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The removal of `link_id`, leased to this replica, unless it is done or leased elsewhere.
    async fn take(&self, link_id: &str, now: i64) -> Result<Option<Removal>, StoreError> {
        if !self.lease("link_removals", "link_id", link_id, now).await? {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT region, erasure_owner, belvo_deleted_at, purged_at, attempts \
             FROM link_removals WHERE link_id = $1 AND done_at IS NULL",
        )
        .bind(link_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Removal {
            link_id: link_id.to_owned(),
            region: row.try_get("region")?,
            erasure_owner: row.try_get("erasure_owner")?,
            belvo_deleted: row.try_get::<Option<i64>, _>("belvo_deleted_at")?.is_some(),
            purged: row.try_get::<Option<i64>, _>("purged_at")?.is_some(),
            attempts: row.try_get("attempts")?,
        }))
    }

    /// Does what is left of a removal, step by step, recording each confirmed step; a failed
    /// step is retried later, with backoff.
    async fn advance(&self, removal: Removal) {
        let link_id = removal.link_id.as_str();
        if let Err(error) = self.advance_steps(&removal).await {
            tracing::warn!(link_id, %error, attempts = removal.attempts + 1,
                "a link removal step failed; it will be retried");
            let retry = now_ms() + self.backoff_ms(removal.attempts);
            let failed = sqlx::query(
                "UPDATE link_removals SET attempts = attempts + 1, last_error = $1, \
                 next_attempt_at = $2, lease_until = 0 WHERE link_id = $3",
            )
            .bind(error)
            .bind(retry)
            .bind(link_id)
            .execute(&self.pool)
            .await;
            if let Err(e) = failed {
                tracing::warn!(link_id, error = %e, "cannot record a removal's failure");
            }
        }
    }

    async fn advance_steps(&self, removal: &Removal) -> Result<(), String> {
        let link_id = removal.link_id.as_str();
        let erase = removal.erasure_owner.is_some();
        if !removal.belvo_deleted {
            let id = Uuid::parse_str(link_id).map_err(|e| e.to_string())?;
            let client = self
                .belvo
                .get(&removal.region)
                .ok_or_else(|| format!("region `{}` is not configured", removal.region))?;
            match client.links().delete_async(id).await {
                Ok(_) => {}
                Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {}
                Err(e) => return Err(format!("Belvo: {e}")),
            }
            self.step_done(link_id, "belvo_deleted_at").await?;
        }
        if !removal.purged {
            self.data
                .purge_confirmed(link_id, erase)
                .await
                .map_err(|status| format!("data-service: {}", status.message()))?;
            self.step_done(link_id, "purged_at").await?;
        }
        let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
        if erase {
            for sql in [
                "DELETE FROM link_events WHERE link_id = $1",
                "DELETE FROM links WHERE link_id = $1",
            ] {
                sqlx::query(sql)
                    .bind(link_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        sqlx::query(
            "UPDATE link_removals SET done_at = $1, last_error = NULL, lease_until = 0 \
             WHERE link_id = $2",
        )
        .bind(now_ms())
        .bind(link_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        if erase {
            self.store.changed(link_id);
            // Its erasure may be able to finish now.
            self.wake.notify_one();
        }
        Ok(())
    }

    async fn step_done(&self, link_id: &str, column: &str) -> Result<(), String> {
        let sql = format!("UPDATE link_removals SET {column} = $1 WHERE link_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms())
            .bind(link_id)
            .execute(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Moves an erasure on: token-service forgets the owner; once every link of the owner is
    /// removed (links registered meanwhile are swept in first), it is finished.
    async fn advance_erasure(&self, owner: &str) -> Result<(), StoreError> {
        let now = now_ms();
        let (token_erased, attempts): (Option<i64>, i64) = sqlx::query_as(
            "SELECT token_service_erased_at, attempts FROM erasures WHERE owner = $1",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        if token_erased.is_none() {
            if let Err(status) = self.tokens.erase(owner).await {
                tracing::warn!(code = ?status.code(), "token-service cannot erase an owner now; retried");
                sqlx::query(
                    "UPDATE erasures SET attempts = attempts + 1, last_error = $1, \
                     next_attempt_at = $2, lease_until = 0 WHERE owner = $3",
                )
                .bind(format!("token-service: {}", status.message()))
                .bind(now + self.backoff_ms(attempts))
                .bind(owner)
                .execute(&self.pool)
                .await?;
                return Ok(());
            }
            sqlx::query(
                "UPDATE erasures SET token_service_erased_at = $1, last_error = NULL \
                 WHERE owner = $2",
            )
            .bind(now)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        }
        let mut tx = self.pool.begin().await?;
        let swept = enqueue_links_of(&mut tx, owner, now).await?;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM link_removals WHERE erasure_owner = $1 AND done_at IS NULL",
        )
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
        let (finished, next) = if left == 0 {
            (Some(now), now)
        } else {
            (None, now + self.config.poll_interval.as_millis() as i64)
        };
        sqlx::query(
            "UPDATE erasures SET finished_at = $1, links = links + $2, next_attempt_at = $3, \
             lease_until = 0 WHERE owner = $4",
        )
        .bind(finished)
        .bind(swept.len() as i64)
        .bind(next)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if finished.is_some() {
            tracing::info!("an owner's erasure finished");
        }
        Ok(())
    }

    fn backoff_ms(&self, attempts: i64) -> i64 {
        let factor = 1u32 << attempts.clamp(0, 20);
        let delay = self.config.retry_base.saturating_mul(factor);
        delay.min(self.config.retry_max).as_millis() as i64
    }
}

/// Marks `owner`'s links DELETED and records a removal, part of their erasure, for each link
/// of theirs not already being removed for it. Returns the links recorded.
async fn enqueue_links_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT link_id, region FROM links WHERE owner = $1 AND link_id NOT IN \
         (SELECT link_id FROM link_removals WHERE erasure_owner = $1 AND done_at IS NULL)",
    )
    .bind(owner)
    .fetch_all(&mut **tx)
    .await?;
    for (link_id, region) in &links {
        mark_deleted(tx, link_id, now).await?;
        // A link already removed by a DeleteLink keeps Belvo's confirmation, and is purged
        // again to forget its owner.
        sqlx::query(
            "INSERT INTO link_removals (link_id, region, erasure_owner, requested_at, \
             belvo_deleted_at, purged_at, done_at, attempts, last_error, next_attempt_at, \
             lease_until) VALUES ($1, $2, $3, $4, NULL, NULL, NULL, 0, NULL, $4, 0) \
             ON CONFLICT (link_id) DO UPDATE SET erasure_owner = $3, requested_at = $4, \
             purged_at = NULL, done_at = NULL, attempts = 0, last_error = NULL, \
             next_attempt_at = $4",
        )
        .bind(link_id)
        .bind(region)
        .bind(owner)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(links.into_iter().map(|(link_id, _)| link_id).collect())
}

/// Marks a link DELETED (no-op if it already is).
async fn mark_deleted(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    link_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE links SET status = 'deleted', deleted_at = $1, status_changed_at = $1, \
         updated_at = $1 WHERE link_id = $2 AND status <> 'deleted'",
    )
    .bind(now)
    .bind(link_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
