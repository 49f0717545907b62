//! data-service's storage: one portable set of SQL for SQLite and PostgreSQL (sqlx `Any`),
//! with one explicit seam, job claiming (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

mod changes;
mod jobs;
mod links;
mod records;
mod status;
mod webhooks;

use database::{Backend, Database};
use grpc_runtime::SealedColumn;

pub use changes::{Change, ChangeKind, ChangesPage};
pub use jobs::{Failure, Gauges, Job, JobMode, JobState, Planned, Pull, Release};
pub use links::LinkRow;
pub use records::{NewRecord, Page, RecordFilter, StoredRecord};
pub use status::{StatusRow, SyncState};
pub use webhooks::{Ingested, NewWebhook, StoredWebhook, WebhookFilter, WebhookState};

/// The columns sealed with a key ring: each record's amount, description and body as one
/// value (reads filter and sort on every other column), and each webhook's body.
pub const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "records",
        key: &["resource", "id"],
        column: "body",
        folded: &["amount", "description"],
    },
    SealedColumn {
        table: "webhook_events",
        key: &["webhook_id"],
        column: "body",
        folded: &[],
    },
];

/// The store's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error")]
    Database(#[from] database::sqlx::Error),
    /// A page token that this store did not issue.
    #[error("the page token is not valid")]
    BadPageToken,
    /// The job's lease went to another worker (this one was too slow or presumed dead).
    #[error("the job's lease was lost")]
    LeaseLost,
    /// A change cursor that this store did not issue, or issued for another link.
    #[error("the cursor is not valid: {0}")]
    BadCursor(&'static str),
    /// Changes after the cursor were compacted away (past `sync.change_retention`), or the
    /// link's changes were forgotten since: only an empty cursor can start again.
    #[error("the cursor has expired")]
    CursorExpired,
    /// The change log is off (`sync.change_log = false`).
    #[error("the change log is off")]
    ChangeLogOff,
    /// A stored value is sealed and cannot be opened (no key ring, or not its key).
    #[error("a stored value cannot be opened: {0}")]
    Sealed(#[from] sealing::OpenError),
}

impl StoreError {
    /// The database cannot be reached now (a caller may try again): not the request's fault.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Database(e) if database::is_unavailable(e))
    }
}

/// The database, with the queries data-service needs.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    /// Seals what stored objects say beyond their indexed columns, and webhook bodies
    /// ([`SEALED`]); `None`: stored in clear.
    sealing: Option<sealing::KeyRing>,
    /// Jobs are claimed by priority and take turns (`sync.priorities`); else by due time.
    priorities: bool,
    /// Changes to stored objects are logged (`sync.change_log`).
    change_log: bool,
}

impl Store {
    /// Wraps a connected, migrated database; with a key ring, objects are stored sealed.
    pub fn new(db: Database, sealing: Option<sealing::KeyRing>) -> Self {
        Self {
            db,
            sealing,
            priorities: true,
            change_log: true,
        }
    }

    /// Logs no changes (`sync.change_log = false`, to measure what the log costs).
    pub fn without_change_log(mut self) -> Self {
        self.change_log = false;
        self
    }

    /// Claims jobs first come, first served, with no turns (`sync.priorities = false`).
    pub fn first_come_first_served(mut self) -> Self {
        self.priorities = false;
        self
    }

    /// Whether changes are logged.
    pub fn change_log(&self) -> bool {
        self.change_log
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// A transaction, for writes that must commit together (a page and its checkpoint).
    pub async fn begin(
        &self,
    ) -> Result<database::sqlx::Transaction<'static, database::sqlx::Any>, StoreError> {
        Ok(self.db.pool().begin().await?)
    }

    fn backend(&self) -> Backend {
        self.db.backend()
    }
}

/// Now, in epoch milliseconds (the store's time unit).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `$first, $first+1, ...` placeholders for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
