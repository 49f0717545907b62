//! token-service's storage, in its own database: the external ids it handed out (owner,
//! region, first issue) and the audit trail of issued tokens. Portable SQL through sqlx's
//! Any driver, the same on SQLite and PostgreSQL.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use database::Database;

/// How many recorded external ids the process remembers (then it forgets them all and
/// starts over; a forgotten one costs one idempotent insert).
const RECORDED_CACHE: usize = 100_000;

/// What a failed statement reports.
pub(crate) type StoreError = sqlx::Error;

/// One issued token, as audited. Never holds the token.
#[derive(Debug, Clone)]
pub(crate) struct AuditRecord<'a> {
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) owner: &'a str,
    pub(crate) region: &'a str,
    pub(crate) external_id: &'a str,
    pub(crate) link_id: Option<String>,
    pub(crate) products: Vec<&'static str>,
    pub(crate) fetch_resources: Vec<&'static str>,
    pub(crate) caller: Option<&'a str>,
    pub(crate) request_id: Option<&'a str>,
}

/// An external id's owner and when it was first handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExternalIdOwner {
    pub(crate) owner: String,
    pub(crate) first_issued_at: DateTime<Utc>,
}

/// The service's tables.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    db: Database,
    /// External ids this process has already recorded: a returning owner's token then costs
    /// one write (the audit row), not two. The row is only ever inserted, never changed, so
    /// remembering that it exists is safe.
    recorded: Arc<Mutex<HashSet<String>>>,
}

impl Store {
    pub(crate) fn new(db: Database) -> Self {
        Self {
            db,
            recorded: Arc::default(),
        }
    }

    /// Records that `external_id` stands for `owner` in `region` (kept from the first time).
    /// Skips the database when this process already recorded it.
    pub(crate) async fn record_external_id(
        &self,
        external_id: &str,
        owner: &str,
        region: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self
            .recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(external_id)
        {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO external_ids (external_id, owner, region, first_issued_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (external_id) DO NOTHING",
        )
        .bind(external_id)
        .bind(owner)
        .bind(region)
        .bind(at.timestamp_millis())
        .execute(self.db.pool())
        .await?;
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.len() >= RECORDED_CACHE {
            recorded.clear();
        }
        recorded.insert(external_id.to_owned());
        Ok(())
    }

    /// The owner an external id was handed out for, if any.
    pub(crate) async fn resolve_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<ExternalIdOwner>, StoreError> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT owner, first_issued_at_ms FROM external_ids WHERE external_id = $1",
        )
        .bind(external_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|(owner, ms)| ExternalIdOwner {
            owner,
            first_issued_at: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
        }))
    }

    /// Whether a widget token for `owner`'s `external_id` in `region` was minted between
    /// `from_ms` and `to_ms` (inclusive), by the audit rows.
    pub(crate) async fn minted_between(
        &self,
        owner: &str,
        external_id: &str,
        region: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM token_audit WHERE owner = $1 AND issued_at_ms BETWEEN $2 AND $3 \
             AND external_id = $4 AND region = $5 LIMIT 1",
        )
        .bind(owner)
        .bind(from_ms)
        .bind(to_ms)
        .bind(external_id)
        .bind(region)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Forgets `owner`: deletes the external ids minted for them (none resolves to them
    /// again) and anonymises their audit rows (owner and external id become `erased`), in one
    /// transaction. Returns the rows changed.
    pub(crate) async fn erase_owner(&self, owner: &str) -> Result<u64, StoreError> {
        let mut tx = self.db.pool().begin().await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT external_id FROM external_ids WHERE owner = $1")
                .bind(owner)
                .fetch_all(&mut *tx)
                .await?;
        let deleted = sqlx::query("DELETE FROM external_ids WHERE owner = $1")
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let anonymised = sqlx::query(
            "UPDATE token_audit SET owner = 'erased', external_id = 'erased' WHERE owner = $1",
        )
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        // A returning owner's external id must be recorded again.
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        for id in &ids {
            recorded.remove(id);
        }
        Ok(deleted + anonymised)
    }

    /// Appends one audit row, without waiting for it to reach the disk: on PostgreSQL the
    /// statement turns `synchronous_commit` off for its own transaction, the guarantee SQLite
    /// in WAL mode with `synchronous = NORMAL` gives every commit. A database crash may then
    /// lose the last fraction of a second of audit rows (never corrupt or reorder them), and a
    /// token costs no disk flush: a flush takes milliseconds, the rest of minting well under one.
    pub(crate) async fn audit(&self, record: &AuditRecord<'_>) -> Result<(), StoreError> {
        let products = serde_json::Value::from(record.products.clone()).to_string();
        let resources = serde_json::Value::from(record.fetch_resources.clone()).to_string();
        let insert = self.db.backend().pick(
            "INSERT INTO token_audit (id, issued_at_ms, owner, region, external_id, link_id, \
             products, fetch_resources, caller, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            "INSERT INTO token_audit (id, issued_at_ms, owner, region, external_id, link_id, \
             products, fetch_resources, caller, request_id) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
             FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit",
        );
        sqlx::query(insert)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(record.issued_at.timestamp_millis())
            .bind(record.owner)
            .bind(record.region)
            .bind(record.external_id)
            .bind(record.link_id.clone())
            .bind(products)
            .bind(resources)
            .bind(record.caller)
            .bind(record.request_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use database::testing::TestDatabase;

    use super::*;

    #[tokio::test]
    async fn an_external_id_is_written_once_per_process() {
        let db = TestDatabase::sqlite().await;
        db.migrate(&crate::MIGRATOR).await.unwrap();
        let store = Store::new(db.db().clone());
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM external_ids")
                .fetch_one(db.pool())
                .await
                .unwrap()
        };
        store
            .record_external_id("ext-1", "alice", "mx", Utc::now())
            .await
            .unwrap();
        assert_eq!(count().await, 1);
        // Remembered: a second record does not reach the database (the row deleted behind
        // its back stays deleted), while a store without the memory inserts it again.
        sqlx::query("DELETE FROM external_ids")
            .execute(db.pool())
            .await
            .unwrap();
        store
            .record_external_id("ext-1", "alice", "mx", Utc::now())
            .await
            .unwrap();
        assert_eq!(count().await, 0);
        Store::new(db.db().clone())
            .record_external_id("ext-1", "alice", "mx", Utc::now())
            .await
            .unwrap();
        let owner = store.resolve_external_id("ext-1").await.unwrap().unwrap();
        assert_eq!(owner.owner, "alice");
    }

    /// The audit row's asynchronous commit is its own: the connection it ran on (the only
    /// one in the pool) still commits synchronously afterwards.
    #[tokio::test]
    async fn the_audit_commit_does_not_change_the_connection() {
        let Some(test_db) = TestDatabase::postgres().await else {
            return;
        };
        test_db.migrate(&crate::MIGRATOR).await.unwrap();
        let mut config = test_db.config();
        config.max_connections = 1;
        let db = Database::connect(&config).await.unwrap();
        let store = Store::new(db.clone());
        store
            .audit(&AuditRecord {
                issued_at: Utc::now(),
                owner: "alice",
                region: "mx",
                external_id: "ext-1",
                link_id: None,
                products: vec!["banking"],
                fetch_resources: vec!["ACCOUNTS"],
                caller: None,
                request_id: Some("req-1"),
            })
            .await
            .unwrap();
        let (owner, setting): (String, String) =
            sqlx::query_as("SELECT owner, current_setting('synchronous_commit') FROM token_audit")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(owner, "alice");
        assert_eq!(setting, "on");
    }
}
