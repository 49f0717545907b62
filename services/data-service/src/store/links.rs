//! The links data-service syncs, as link-service registered them.

use database::sqlx::{self, Row};

use super::{Store, StoreError};

/// A registered link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub link_id: String,
    pub region: String,
    pub owner: String,
    pub fetch_resources: Vec<String>,
    pub refresh_rate: String,
    pub registered_at: i64,
    pub last_webhook_at: Option<i64>,
    pub last_reconciled_at: Option<i64>,
    /// When its data was purged (the row stays as a tombstone).
    pub purged_at: Option<i64>,
}

impl LinkRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let resources: String = row.try_get("fetch_resources")?;
        Ok(Self {
            link_id: row.try_get("link_id")?,
            region: row.try_get("region")?,
            owner: row.try_get("owner")?,
            fetch_resources: resources
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            refresh_rate: row.try_get("refresh_rate")?,
            registered_at: row.try_get("registered_at")?,
            last_webhook_at: row.try_get("last_webhook_at")?,
            last_reconciled_at: row.try_get("last_reconciled_at")?,
            purged_at: row.try_get("purged_at")?,
        })
    }
}

const COLUMNS: &str = "link_id, region, owner, fetch_resources, refresh_rate, registered_at, \
                       last_webhook_at, last_reconciled_at, purged_at";

impl Store {
    /// Records (or updates) a registered link. Returns true when it was new.
    pub async fn upsert_link(&self, link: &LinkRow) -> Result<bool, StoreError> {
        let existed = self.link(&link.link_id).await?.is_some();
        // A registration starts the refresh clock again (and revives a purged link's row).
        let refresh_ms =
            crate::watchdog::refresh_interval(&link.refresh_rate).map(|d| d.as_millis() as i64);
        sqlx::query(
            "INSERT INTO links (link_id, region, owner, fetch_resources, refresh_rate, registered_at, \
             refresh_ms, refresh_due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6 + $7) \
             ON CONFLICT (link_id) DO UPDATE SET region = excluded.region, owner = excluded.owner, \
             fetch_resources = excluded.fetch_resources, refresh_rate = excluded.refresh_rate, \
             refresh_ms = excluded.refresh_ms, refresh_due_at = excluded.refresh_due_at, \
             purged_at = NULL",
        )
        .bind(&link.link_id)
        .bind(&link.region)
        .bind(&link.owner)
        .bind(link.fetch_resources.join(","))
        .bind(&link.refresh_rate)
        .bind(link.registered_at)
        .bind(refresh_ms)
        .execute(self.db.pool())
        .await?;
        Ok(!existed)
    }

    /// One link.
    pub async fn link(&self, link_id: &str) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM links WHERE link_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(LinkRow::from_row).transpose()?)
    }

    /// The links among `ids` that are registered, by id.
    pub async fn links_by_id(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, LinkRow>, StoreError> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {COLUMNS} FROM links WHERE link_id IN ({})",
                super::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(self.db.pool()).await? {
                let link = LinkRow::from_row(&row)?;
                out.insert(link.link_id.clone(), link);
            }
        }
        Ok(out)
    }

    /// An owner's links.
    pub async fn links_of(&self, owner: &str) -> Result<Vec<LinkRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM links WHERE owner = $1 ORDER BY link_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows
            .iter()
            .map(LinkRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Up to `limit` live recurrent links whose update was due before `before`, the most
    /// overdue first (by the `links_refresh_due` index).
    pub async fn due_links(&self, before: i64, limit: i64) -> Result<Vec<LinkRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM links WHERE refresh_due_at IS NOT NULL AND purged_at IS NULL \
             AND refresh_due_at < $1 ORDER BY refresh_due_at, link_id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows
            .iter()
            .map(LinkRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Notes that Belvo announced data for the link.
    pub async fn touch_link(&self, link_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE links SET last_webhook_at = $1, refresh_due_at = $1 + refresh_ms \
             WHERE link_id = $2",
        )
        .bind(at)
        .bind(link_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Notes that the watchdog scheduled a reconciliation.
    pub async fn mark_reconciled(&self, link_id: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE links SET last_reconciled_at = $1, refresh_due_at = $1 + refresh_ms \
             WHERE link_id = $2",
        )
        .bind(at)
        .bind(link_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
