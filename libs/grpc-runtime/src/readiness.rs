//! Readiness: a condition a service must meet before it reports SERVING and starts its
//! background work. [`serve`](crate::serve) holds every health status NOT_SERVING until the
//! [`Readiness`] given to [`ServiceSet::ready_when`](crate::ServiceSet::ready_when) holds; the
//! service awaits the same handle ([`Readiness::wait`]) before it starts workers.
//!
//! [`Readiness::schema`] is the condition every service with a database uses: its schema is
//! at (or above) the newest migration the binary was built with. In production the migration
//! Job changes the schema, not the service (`RUN_MIGRATIONS=false`), so a pod that starts
//! before the Job finished waits, polls every [`SCHEMA_POLL_INTERVAL`], and becomes ready by
//! itself once the Job has run; it logs one line at start and one whenever what it sees
//! changes, never one per poll.

use std::time::Duration;

use database::{Database, SchemaStatus};
use sqlx::migrate::Migrator;
use tokio::sync::watch;

use crate::Shutdown;

/// How often a service waiting for its schema looks again.
pub const SCHEMA_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A condition that starts false and, once true, stays true. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: watch::Receiver<bool>,
}

/// The other end of [`Readiness::manual`]: marks it ready.
#[derive(Debug)]
pub struct MarkReady(watch::Sender<bool>);

impl MarkReady {
    /// Makes the condition hold (for good).
    pub fn ready(&self) {
        self.0.send_replace(true);
    }
}

impl Readiness {
    /// Already ready.
    pub fn ready() -> Self {
        let (_, ready) = watch::channel(true);
        Self { ready }
    }

    /// Not ready until the returned [`MarkReady`] says so.
    pub fn manual() -> (MarkReady, Self) {
        let (mark, ready) = watch::channel(false);
        (MarkReady(mark), Self { ready })
    }

    /// Whether the condition holds now.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the condition holds (`true`) or `shutdown` fires first (`false`).
    pub async fn wait(&self, shutdown: &Shutdown) -> bool {
        let mut ready = self.ready.clone();
        tokio::select! {
            biased;
            () = shutdown.triggered() => false,
            held = ready.wait_for(|r| *r) => held.is_ok(),
        }
    }

    /// Ready once `db`'s schema is at the newest migration of `migrator` or newer (a later
    /// release migrated it: expand-only migrations keep an older build working). Checks once
    /// now and logs where the schema stands; if it is behind, polls every
    /// [`SCHEMA_POLL_INTERVAL`] until it is not (or `shutdown`), logging only when what it
    /// sees changes.
    pub async fn schema(db: &Database, migrator: &'static Migrator, shutdown: Shutdown) -> Self {
        Self::schema_every(db, migrator, SCHEMA_POLL_INTERVAL, shutdown).await
    }

    /// [`Readiness::schema`] with another polling interval.
    pub async fn schema_every(
        db: &Database,
        migrator: &'static Migrator,
        interval: Duration,
        shutdown: Shutdown,
    ) -> Self {
        let (mark, ready) = Self::manual();
        let mut seen = Seen::default();
        if seen.check(db, migrator).await {
            mark.ready();
            return ready;
        }
        let db = db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // The first tick is immediate: the check above was it.
            loop {
                tokio::select! {
                    () = shutdown.triggered() => return,
                    _ = tick.tick() => {}
                }
                if seen.check(&db, migrator).await {
                    mark.ready();
                    return;
                }
            }
        });
        ready
    }
}

/// What the last schema check saw, so that only a change is logged.
#[derive(Default)]
struct Seen(Option<String>);

impl Seen {
    /// Checks the schema, logs what it sees if that differs from last time; true when ready.
    async fn check(&mut self, db: &Database, migrator: &Migrator) -> bool {
        let (ready, line, status) = match db.schema_status(migrator).await {
            Ok(status) => (status.is_ready(), status.to_string(), Some(status)),
            Err(err) => (
                false,
                format!("cannot read the schema version (will retry): {err}"),
                None,
            ),
        };
        if self.0.as_deref() != Some(line.as_str()) {
            log(ready, &line, status);
            self.0 = Some(line);
        }
        ready
    }
}

fn log(ready: bool, line: &str, status: Option<SchemaStatus>) {
    let applied = status.and_then(|s| s.applied).unwrap_or(0);
    let required = status.map(|s| s.required);
    if ready {
        tracing::info!(schema_version = applied, ?required, "{line}: ready");
    } else {
        tracing::warn!(
            schema_version = applied,
            ?required,
            "{line}; health NOT_SERVING and background work held until then"
        );
    }
}
