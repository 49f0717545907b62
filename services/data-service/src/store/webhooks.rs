//! The webhook inbox: every event stored once per `webhook_id` (redeliveries only count),
//! with its processing state.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{HashMap, HashSet};

use database::sqlx::{self, Any, Row, Transaction};

use super::{Store, StoreError, placeholders};

/// Where a stored webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookState {
    Received,
    Processed,
    Held,
    Ignored,
    Failed,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Held => "held",
            Self::Ignored => "ignored",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "processed" => Self::Processed,
            "held" => Self::Held,
            "ignored" => Self::Ignored,
            "failed" => Self::Failed,
            _ => Self::Received,
        }
    }
}

/// A webhook as it arrived.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub webhook_id: String,
    pub region: String,
    pub link_id: String,
    pub webhook_type: String,
    pub webhook_code: String,
    pub process_type: Option<String>,
    pub request_id: Option<String>,
    pub external_id: Option<String>,
    pub body: String,
    pub received_at: i64,
}

/// A stored webhook.
#[derive(Debug, Clone)]
pub struct StoredWebhook {
    pub webhook_id: String,
    pub region: String,
    pub link_id: String,
    pub webhook_type: String,
    pub webhook_code: String,
    pub process_type: Option<String>,
    pub request_id: Option<String>,
    pub external_id: Option<String>,
    pub body: String,
    pub state: WebhookState,
    pub error: Option<String>,
    pub deliveries: i32,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

/// Webhooks of one batched insert (12 parameters each, far below both backends' limits).
const WEBHOOKS_PER_STATEMENT: usize = 80;

/// Whether an ingest stored something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    New,
    Duplicate,
}

/// Which webhooks a listing returns.
#[derive(Debug, Clone, Default)]
pub struct WebhookFilter {
    pub link_id: Option<String>,
    pub region: Option<String>,
    pub states: Vec<WebhookState>,
}

const COLUMNS: &str = "webhook_id, region, link_id, webhook_type, webhook_code, process_type, \
                       request_id, external_id, body, state, error, deliveries, received_at, processed_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<StoredWebhook, sqlx::Error> {
    Ok(StoredWebhook {
        webhook_id: row.try_get("webhook_id")?,
        region: row.try_get("region")?,
        link_id: row.try_get("link_id")?,
        webhook_type: row.try_get("webhook_type")?,
        webhook_code: row.try_get("webhook_code")?,
        process_type: row.try_get("process_type")?,
        request_id: row.try_get("request_id")?,
        external_id: row.try_get("external_id")?,
        body: row.try_get("body")?,
        state: WebhookState::parse(&row.try_get::<String, _>("state")?),
        error: row.try_get("error")?,
        deliveries: row.try_get("deliveries")?,
        received_at: row.try_get("received_at")?,
        processed_at: row.try_get("processed_at")?,
    })
}

impl Store {
    /// A stored webhook from its row, its body opened when sealed.
    fn webhook_from_row(&self, row: &sqlx::any::AnyRow) -> Result<StoredWebhook, StoreError> {
        let mut webhook = from_row(row)?;
        webhook.body = sealing::KeyRing::open_stored(self.sealing.as_ref(), webhook.body)?;
        Ok(webhook)
    }

    /// Stores a webhook once per `webhook_id`; a redelivery only increments its count.
    /// Returns once the row is committed: Belvo's delivery is acknowledged on this, and does
    /// not come again. (In autocommit, `fetch_one` of `INSERT … RETURNING` returns at the
    /// first row, before PostgreSQL has committed the statement.)
    pub async fn insert_webhook(&self, w: &NewWebhook) -> Result<Ingested, StoreError> {
        let stored = self.insert_webhooks(&[w]).await?;
        Ok(stored.first().copied().unwrap_or(Ingested::Duplicate))
    }

    /// Stores a batch of webhooks at once: one multi-row insert and one commit, so that a
    /// burst costs one WAL flush, not one per webhook. Returns, in the batch's order, whether
    /// each stored something new; a webhook twice in the batch (Belvo's redelivery) is new the
    /// first time only. Returns once committed, like [`Store::insert_webhook`].
    pub async fn insert_webhooks(
        &self,
        batch: &[&NewWebhook],
    ) -> Result<Vec<Ingested>, StoreError> {
        let rows: Vec<(&NewWebhook, WebhookState)> =
            batch.iter().map(|&w| (w, WebhookState::Received)).collect();
        let mut tx = self.db.pool().begin().await?;
        let ingested = self.insert_webhooks_in(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(ingested)
    }

    /// Inserts a batch of webhooks, each with the state it is stored in, in `tx`; see
    /// [`Store::insert_webhooks`]. A redelivery keeps the state stored first. With a key ring
    /// the body is sealed (a webhook may carry what Belvo knows of the user).
    pub(super) async fn insert_webhooks_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        batch: &[(&NewWebhook, WebhookState)],
    ) -> Result<Vec<Ingested>, StoreError> {
        // Each id once (a statement may not touch a row twice), sorted (concurrent batches
        // then lock rows in one order), with how many times the batch has it.
        let mut unique: Vec<(&NewWebhook, WebhookState, i32)> = Vec::new();
        {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for &(w, state) in batch {
                match seen.get(w.webhook_id.as_str()) {
                    Some(&i) => unique[i].2 += 1,
                    None => {
                        seen.insert(&w.webhook_id, unique.len());
                        unique.push((w, state, 1));
                    }
                }
            }
        }
        unique.sort_by(|a, b| a.0.webhook_id.cmp(&b.0.webhook_id));
        let mut new_ids = HashSet::new();
        for chunk in unique.chunks(WEBHOOKS_PER_STATEMENT) {
            let values = (0..chunk.len())
                .map(|r| format!("({})", placeholders(r * 12 + 1, 12)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO webhook_events (webhook_id, region, link_id, webhook_type, webhook_code, \
                 process_type, request_id, external_id, body, state, deliveries, received_at) \
                 VALUES {values} ON CONFLICT (webhook_id) DO UPDATE SET \
                 deliveries = webhook_events.deliveries + excluded.deliveries \
                 RETURNING webhook_id, deliveries"
            );
            let sealed: Vec<String> = match &self.sealing {
                Some(ring) => chunk
                    .iter()
                    .map(|(w, ..)| ring.seal(w.body.as_bytes()))
                    .collect(),
                None => Vec::new(),
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, (w, state, count)) in chunk.iter().enumerate() {
                query = query
                    .bind(&w.webhook_id)
                    .bind(&w.region)
                    .bind(&w.link_id)
                    .bind(&w.webhook_type)
                    .bind(&w.webhook_code)
                    .bind(&w.process_type)
                    .bind(&w.request_id)
                    .bind(&w.external_id)
                    .bind(sealed.get(i).map_or(w.body.as_str(), String::as_str))
                    .bind(state.as_str())
                    .bind(*count)
                    .bind(w.received_at);
            }
            let counts: HashMap<&str, i32> = chunk
                .iter()
                .map(|(w, _, n)| (w.webhook_id.as_str(), *n))
                .collect();
            for row in query.fetch_all(&mut **tx).await? {
                let id: String = row.try_get("webhook_id")?;
                let deliveries: i32 = row.try_get("deliveries")?;
                // New when every delivery so far is this batch's.
                if counts.get(id.as_str()) == Some(&deliveries) {
                    new_ids.insert(id);
                }
            }
        }
        let mut first = HashSet::new();
        Ok(batch
            .iter()
            .map(|(w, _)| {
                if new_ids.contains(&w.webhook_id) && first.insert(w.webhook_id.as_str()) {
                    Ingested::New
                } else {
                    Ingested::Duplicate
                }
            })
            .collect())
    }

    /// One stored webhook.
    pub async fn webhook(&self, webhook_id: &str) -> Result<Option<StoredWebhook>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_events WHERE webhook_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(webhook_id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(|r| self.webhook_from_row(r)).transpose()
    }

    /// Records the outcome of processing webhooks (one, or a batch that acted as one).
    pub async fn set_webhook_state(
        &self,
        webhook_ids: &[&str],
        state: WebhookState,
        error: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        if webhook_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE webhook_events SET state = $1, error = $2, processed_at = $3 \
             WHERE webhook_id IN ({})",
            placeholders(4, webhook_ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.as_str())
            .bind(error)
            .bind(at);
        for id in webhook_ids {
            query = query.bind(*id);
        }
        query.execute(self.db.pool()).await?;
        Ok(())
    }

    /// Webhooks waiting for their link, oldest first.
    pub async fn held_webhooks(&self, link_id: &str) -> Result<Vec<StoredWebhook>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_events WHERE link_id = $1 AND state IN ('held', 'received') \
             ORDER BY received_at, webhook_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link_id)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| self.webhook_from_row(r)).collect()
    }

    /// Webhooks received before `before` but not processed (a crash between storing and
    /// processing, or link-service unavailable).
    pub async fn unprocessed_webhooks(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<StoredWebhook>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_events WHERE state = 'received' AND received_at < $1 \
             ORDER BY received_at, webhook_id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| self.webhook_from_row(r)).collect()
    }

    /// A page of webhooks, newest first.
    pub async fn list_webhooks(
        &self,
        filter: &WebhookFilter,
        limit: usize,
        token: Option<&str>,
    ) -> Result<(Vec<StoredWebhook>, Option<String>), StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM webhook_events WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        if let Some(link) = &filter.link_id {
            texts.push(link.clone());
            sql.push_str(&format!(" AND link_id = ${}", texts.len()));
        }
        if let Some(region) = &filter.region {
            texts.push(region.clone());
            sql.push_str(&format!(" AND region = ${}", texts.len()));
        }
        if !filter.states.is_empty() {
            let first = texts.len() + 1;
            sql.push_str(&format!(
                " AND state IN ({})",
                placeholders(first, filter.states.len())
            ));
            texts.extend(filter.states.iter().map(|s| s.as_str().to_owned()));
        }
        let mut after: Option<(i64, String)> = None;
        if let Some(token) = token {
            let bytes = URL_SAFE_NO_PAD
                .decode(token)
                .map_err(|_| StoreError::BadPageToken)?;
            let (at, id): (i64, String) =
                serde_json::from_slice(&bytes).map_err(|_| StoreError::BadPageToken)?;
            let (a, i) = (texts.len() + 1, texts.len() + 2);
            sql.push_str(&format!(
                " AND (received_at < ${a} OR (received_at = ${a} AND webhook_id < ${i}))"
            ));
            after = Some((at, id));
        }
        sql.push_str(&format!(
            " ORDER BY received_at DESC, webhook_id DESC LIMIT {}",
            limit + 1
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for t in &texts {
            query = query.bind(t.as_str());
        }
        if let Some((at, id)) = &after {
            query = query.bind(*at).bind(id.as_str());
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        let mut events = rows
            .iter()
            .map(|r| self.webhook_from_row(r))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| {
                URL_SAFE_NO_PAD
                    .encode(serde_json::to_vec(&(e.received_at, &e.webhook_id)).unwrap_or_default())
            })
        } else {
            None
        };
        Ok((events, next))
    }
}
