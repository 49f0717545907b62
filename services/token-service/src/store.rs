//! token-service's storage, in its own database: the external ids it handed out (owner,
//! region, first issue) and the audit trail of issued tokens. Portable SQL through sqlx's
//! Any driver, the same on SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use database::Database;

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
}

impl Store {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records that `external_id` stands for `owner` in `region` (kept from the first time).
    pub(crate) async fn record_external_id(
        &self,
        external_id: &str,
        owner: &str,
        region: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
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

    /// Appends one audit row.
    pub(crate) async fn audit(&self, record: &AuditRecord<'_>) -> Result<(), StoreError> {
        let products = serde_json::Value::from(record.products.clone()).to_string();
        let resources = serde_json::Value::from(record.fetch_resources.clone()).to_string();
        sqlx::query(
            "INSERT INTO token_audit (id, issued_at_ms, owner, region, external_id, link_id, \
             products, fetch_resources, caller, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
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
