//! Stored values kept sealed under the active key (issue 14). A service names the columns it
//! seals ([`SealedColumn`]); [`SealedColumns`] re-seals in the background every value sealed
//! under an older key of the ring, or stored in clear, and counts values by key for
//! `connect.sealing.v1.KeyUsageService`: the operator's check before a key leaves the ring.
//!
//! Each service records its passes in its `sealing_passes` table, so that its replicas share
//! one pass per interval. A pass walks each table in primary-key order and rewrites a row only
//! if its value is unchanged since it was read, so a concurrent write (sealed under the active
//! key already) always wins. On PostgreSQL each batch locks its rows with `SKIP LOCKED`: replicas running
//! passes at once take turns through the table rather than repeat each other's work.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use connect_proto::sealing::v1 as proto;
use connect_proto::sealing::v1::key_usage_service_server::{
    KeyUsageService, KeyUsageServiceServer,
};
use database::{Backend, Database};
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use sealing::{KeyRing, KeyRingError};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use tonic::{Request, Response, Status};

use crate::access::{Admits, Gate};
use crate::shutdown::Shutdown;
use crate::status::{internal, request_id};

/// A column whose values are sealed.
#[derive(Debug)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The table's primary key: TEXT columns, the order a pass walks in.
    pub key: &'static [&'static str],
    pub column: &'static str,
    /// Columns sealed into `column` with it ([`KeyRing::seal_fields`], these first) and
    /// stored empty: what a pass folds in when it seals a row stored in clear.
    pub folded: &'static [&'static str],
}

/// `[encryption]`: encryption at rest of the service's sealed columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionConfig {
    /// The key ring (a mounted secret; `libs/sealing`: `active = "<id>"` and `[keys]` of ids
    /// to base64 AES-256 keys). Unset: values are stored in clear (tests only; `make run` and
    /// the production overlay set it). Values stored in clear before stay readable.
    pub key_ring_file: Option<PathBuf>,
    /// How often the replicas, together, pass over the sealed tables to re-seal values under
    /// an older key (or in clear) with the active key; a replica that starts with an active
    /// key no pass used yet passes at once.
    #[serde(with = "humantime_serde")]
    pub reseal_every: Duration,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        Self {
            key_ring_file: None,
            reseal_every: Duration::from_secs(6 * 3600),
        }
    }
}

impl settings::Validate for EncryptionConfig {
    fn validate(&self, report: &mut settings::Report) {
        report.check(
            self.reseal_every >= Duration::from_secs(1),
            "reseal_every",
            "must be at least 1s",
        );
    }
}

impl EncryptionConfig {
    /// The configured key ring, read from its file; `None` when none is configured.
    pub fn key_ring(&self) -> Result<Option<KeyRing>, KeyRingError> {
        self.key_ring_file.as_deref().map(KeyRing::load).transpose()
    }
}

/// Rows a pass reads, re-seals and writes in one transaction.
const BATCH: usize = 500;

/// A service's sealed columns in its database, with its key ring.
#[derive(Debug, Clone)]
pub struct SealedColumns {
    db: Database,
    ring: Option<KeyRing>,
    columns: &'static [SealedColumn],
    resealed: IntCounterVec,
    unopenable: IntGaugeVec,
}

/// What one pass over a column did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Values re-sealed under the active key (or sealed, from clear).
    pub resealed: u64,
    /// Values under a key the ring does not hold, left as they are.
    pub unopenable: u64,
}

impl SealedColumns {
    /// The sealed `columns` of `db`, with their metrics in `registry`.
    pub fn new(
        db: Database,
        ring: Option<KeyRing>,
        columns: &'static [SealedColumn],
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let resealed = IntCounterVec::new(
            Opts::new(
                "sealing_resealed_values_total",
                "Values the background pass sealed under the active key, by table and column.",
            ),
            &["table", "column"],
        )?;
        let unopenable = IntGaugeVec::new(
            Opts::new(
                "sealing_unopenable_values",
                "Values under a key the ring does not hold, as the last pass found them.",
            ),
            &["table", "column"],
        )?;
        registry.register(Box::new(resealed.clone()))?;
        registry.register(Box::new(unopenable.clone()))?;
        Ok(Self {
            db,
            ring,
            columns,
            resealed,
            unopenable,
        })
    }

    /// Passes over the columns no replica passed over under the active key within `every`,
    /// at start-up and then every `every`, until `stop`; nothing without a key ring. (A pass
    /// reads a whole table: the replicas share one per interval, except that the replicas
    /// starting with a new active key all pass at once, splitting the work.)
    pub async fn run(self, every: Duration, stop: Shutdown) {
        if self.ring.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.triggered() => return,
                _ = tick.tick() => {
                    if let Err(error) = self.pass_unless_recent(every).await {
                        tracing::error!(%error, "re-sealing stored values failed");
                    }
                }
            }
        }
    }

    /// One pass over every sealed column.
    pub async fn pass(&self) -> Result<Vec<PassReport>, sqlx::Error> {
        self.pass_unless_recent(Duration::ZERO).await
    }

    /// One pass over each sealed column that no replica passed over under the active key
    /// within `every`; the columns passed over, with what the pass did.
    pub async fn pass_unless_recent(
        &self,
        every: Duration,
    ) -> Result<Vec<PassReport>, sqlx::Error> {
        let Some(ring) = &self.ring else {
            return Ok(Vec::new());
        };
        let mut reports = Vec::with_capacity(self.columns.len());
        for column in self.columns {
            let name = format!("{}.{}", column.table, column.column);
            if every > Duration::ZERO {
                let since = chrono::Utc::now().timestamp_millis() - every.as_millis() as i64;
                let recent: Option<i64> = sqlx::query_scalar(
                    "SELECT finished_at FROM sealing_passes WHERE name = $1 AND active_key = $2 \
                     AND finished_at > $3",
                )
                .bind(&name)
                .bind(ring.active())
                .bind(since)
                .fetch_optional(self.db.pool())
                .await?;
                if recent.is_some() {
                    continue;
                }
            }
            let report = self.pass_column(column).await?;
            sqlx::query(
                "INSERT INTO sealing_passes (name, active_key, finished_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET active_key = excluded.active_key, \
                 finished_at = excluded.finished_at",
            )
            .bind(&name)
            .bind(ring.active())
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(self.db.pool())
            .await?;
            let labels = [column.table, column.column];
            self.resealed
                .with_label_values(&labels)
                .inc_by(report.resealed);
            self.unopenable
                .with_label_values(&labels)
                .set(report.unopenable as i64);
            if report != PassReport::default() {
                tracing::info!(
                    table = column.table,
                    column = column.column,
                    resealed = report.resealed,
                    unopenable = report.unopenable,
                    "re-sealed stored values under the active key"
                );
            }
            reports.push(report);
        }
        Ok(reports)
    }

    async fn pass_column(&self, c: &SealedColumn) -> Result<PassReport, sqlx::Error> {
        let Some(ring) = &self.ring else {
            return Ok(PassReport::default());
        };
        let current = KeyRing::prefix_of(ring.active());
        let keys = c.key.join(", ");
        let selected = [c.key, &[c.column], c.folded].concat().join(", ");
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // `$1` the new value, then the key, then the value as read.
        let mut key_matches: Vec<String> = (0..c.key.len())
            .map(|i| format!("{} = ${}", c.key[i], i + 2))
            .collect();
        key_matches.push(format!("{} = ${}", c.column, c.key.len() + 2));
        let emptied: String = c.folded.iter().map(|f| format!(", {f} = ''")).collect();
        let update = format!(
            "UPDATE {} SET {} = $1{emptied} WHERE {}",
            c.table,
            c.column,
            key_matches.join(" AND ")
        );
        let mut report = PassReport::default();
        let mut after: Option<Vec<String>> = None;
        loop {
            let cursor = match &after {
                Some(_) => format!(
                    " AND ({keys}) > ({})",
                    (0..c.key.len())
                        .map(|i| format!("${}", i + 3))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => String::new(),
            };
            let select = format!(
                "SELECT {selected} FROM {} WHERE {col} IS NOT NULL \
                 AND substr({col}, 1, $1) <> $2{cursor} ORDER BY {keys} LIMIT {BATCH}{lock}",
                c.table,
                col = c.column,
            );
            let mut tx = self.db.pool().begin().await?;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(select))
                .bind(current.len() as i32)
                .bind(&current);
            for value in after.iter().flatten() {
                query = query.bind(value);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let Some(last) = rows.last() else {
                tx.commit().await?;
                return Ok(report);
            };
            after = Some(
                (0..c.key.len())
                    .map(|i| last.try_get(i))
                    .collect::<Result<_, _>>()?,
            );
            for row in &rows {
                let value: String = row.try_get(c.key.len())?;
                let sealed = if KeyRing::is_sealed(&value) {
                    match ring.open(&value) {
                        Ok(plain) => ring.seal(&plain),
                        Err(_) => {
                            report.unopenable += 1;
                            continue;
                        }
                    }
                } else {
                    let mut fields: Vec<String> = (0..c.folded.len())
                        .map(|i| row.try_get(c.key.len() + 1 + i))
                        .collect::<Result<_, _>>()?;
                    fields.push(value.clone());
                    ring.seal_fields(&fields.iter().map(String::as_str).collect::<Vec<_>>())
                };
                let mut write = sqlx::query(sqlx::AssertSqlSafe(update.clone())).bind(sealed);
                for i in 0..c.key.len() {
                    write = write.bind(row.try_get::<String, _>(i)?);
                }
                let result = write.bind(&value).execute(&mut *tx).await?;
                report.resealed += result.rows_affected();
            }
            tx.commit().await?;
        }
    }

    /// Every sealed column's values, counted by key.
    pub async fn usage(&self) -> Result<proto::GetKeyUsageResponse, sqlx::Error> {
        let ids: Vec<&str> = self.ring.as_ref().map(KeyRing::ids).unwrap_or_default();
        let mut in_use: HashMap<&str, i64> = HashMap::new();
        let mut columns = Vec::with_capacity(self.columns.len());
        for c in self.columns {
            let col = c.column;
            let mut sums = format!(
                "SELECT COUNT({col}) AS total, \
                 COALESCE(SUM(CASE WHEN substr({col}, 1, {len}) <> '{prefix}' THEN 1 ELSE 0 END), 0) AS clear",
                len = sealing::PREFIX.len(),
                prefix = sealing::PREFIX,
            );
            for i in 0..ids.len() {
                let (len, prefix) = (2 * i + 1, 2 * i + 2);
                sums.push_str(&format!(
                    ", COALESCE(SUM(CASE WHEN substr({col}, 1, ${len}) = ${prefix} THEN 1 ELSE 0 END), 0) AS k{i}"
                ));
            }
            let sql = format!("{sums} FROM {}", c.table);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                let prefix = KeyRing::prefix_of(id);
                query = query.bind(prefix.len() as i32).bind(prefix);
            }
            let row = query.fetch_one(self.db.pool()).await?;
            let total: i64 = row.try_get("total")?;
            let clear_values: i64 = row.try_get("clear")?;
            let mut sealed_values = HashMap::new();
            for (i, id) in ids.iter().enumerate() {
                let count: i64 = row.try_get(format!("k{i}").as_str())?;
                *in_use.entry(id).or_default() += count;
                sealed_values.insert((*id).to_owned(), count);
            }
            columns.push(proto::ColumnKeyUsage {
                table: c.table.to_owned(),
                column: col.to_owned(),
                unknown_key_values: total - clear_values - sealed_values.values().sum::<i64>(),
                sealed_values,
                clear_values,
            });
        }
        let active_key = self
            .ring
            .as_ref()
            .map(|r| r.active().to_owned())
            .unwrap_or_default();
        let retirable_keys = ids
            .iter()
            .filter(|id| **id != active_key && in_use.get(*id).copied().unwrap_or(0) == 0)
            .map(|id| (*id).to_owned())
            .collect();
        Ok(proto::GetKeyUsageResponse {
            active_key,
            columns,
            retirable_keys,
        })
    }

    /// `connect.sealing.v1.KeyUsageService` over these columns, for operators.
    pub fn key_usage_service(&self, gate: Gate) -> KeyUsageServiceServer<KeyUsage> {
        KeyUsageServiceServer::new(KeyUsage {
            columns: self.clone(),
            gate,
        })
    }
}

/// `connect.sealing.v1.KeyUsageService`.
#[derive(Debug, Clone)]
pub struct KeyUsage {
    columns: SealedColumns,
    gate: Gate,
}

#[tonic::async_trait]
impl KeyUsageService for KeyUsage {
    async fn get_key_usage(
        &self,
        request: Request<proto::GetKeyUsageRequest>,
    ) -> Result<Response<proto::GetKeyUsageResponse>, Status> {
        self.gate.admit(&request, Admits::Operators, "").await?;
        let usage = self
            .columns
            .usage()
            .await
            .map_err(|e| internal(request_id(&request), &e))?;
        Ok(Response::new(usage))
    }
}
