//! A change feed across every process on one database: a service publishes the keys (link ids)
//! whose state it changed, and every replica's subscribers receive them. On PostgreSQL through
//! `LISTEN`/`NOTIFY` (each replica listens on one connection of its own); on SQLite, the
//! single-process embedded default, within the process.
//!
//! Publishing never waits for the database: keys are queued and sent by a task that batches
//! whatever is queued into one `NOTIFY` (a worker storing a page per few milliseconds would
//! otherwise add a round trip to each). A subscriber that receives [`Feed::EVERYTHING`] may
//! have missed keys (the listening connection was lost, or it lagged) and re-reads all it
//! watches.

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, mpsc};

use crate::{Backend, Database, DatabaseUrl};

/// PostgreSQL's limit on a notification's payload is 8000 bytes; a batch stays below.
const MAX_PAYLOAD: usize = 7000;
/// How long a lost listening connection waits before connecting again.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The feed of one channel. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    received: broadcast::Sender<String>,
    outgoing: Outgoing,
}

#[derive(Debug, Clone)]
enum Outgoing {
    /// SQLite: straight to this process's subscribers.
    Local,
    /// PostgreSQL: to the batching publisher.
    Notify(mpsc::UnboundedSender<String>),
}

impl Feed {
    /// What a subscriber receives when it may have missed keys.
    pub const EVERYTHING: &'static str = "*";

    /// Starts the feed of `channel` (a PostgreSQL identifier: lower case, digits and `_`) on
    /// `db`. On PostgreSQL its publisher ends with the last clone of the feed, its listener
    /// when `stop` resolves.
    pub fn start(
        db: &Database,
        channel: &'static str,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let (received, _) = broadcast::channel(1024);
        let outgoing = match db.backend() {
            Backend::Sqlite => Outgoing::Local,
            Backend::Postgres => {
                let (queue, queued) = mpsc::unbounded_channel();
                tokio::spawn(publish(db.clone(), channel, queued));
                tokio::spawn(listen(db.url.clone(), channel, received.clone(), stop));
                Outgoing::Notify(queue)
            }
        };
        Self { received, outgoing }
    }

    /// Tells every replica's subscribers that `key` changed.
    pub fn publish(&self, key: &str) {
        match &self.outgoing {
            // No subscriber is fine: nobody is watching.
            Outgoing::Local => {
                let _ = self.received.send(key.to_owned());
            }
            Outgoing::Notify(queue) => {
                let _ = queue.send(key.to_owned());
            }
        }
    }

    /// The keys changed from now on, by any replica.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.received.subscribe()
    }
}

/// Sends what is queued, deduplicated, as few `NOTIFY`s as the payload limit allows.
async fn publish(db: Database, channel: &'static str, mut queued: mpsc::UnboundedReceiver<String>) {
    let mut batch = Vec::new();
    while queued.recv_many(&mut batch, 1024).await > 0 {
        let keys: BTreeSet<String> = batch.drain(..).collect();
        let mut payload = String::new();
        for key in keys {
            if !payload.is_empty() && payload.len() + 1 + key.len() > MAX_PAYLOAD {
                notify(&db, channel, &std::mem::take(&mut payload)).await;
            }
            if !payload.is_empty() {
                payload.push('\n');
            }
            payload.push_str(&key);
        }
        if !payload.is_empty() {
            notify(&db, channel, &payload).await;
        }
    }
}

async fn notify(db: &Database, channel: &str, payload: &str) {
    // Lost with the database: the listeners' reconnection sends EVERYTHING.
    if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(db.pool())
        .await
    {
        tracing::warn!(error = %e, channel, "could not publish a change notification");
    }
}

/// Receives every replica's notifications on a connection of its own, reconnecting when it
/// is lost (and then telling subscribers they may have missed some).
async fn listen(
    url: DatabaseUrl,
    channel: &'static str,
    received: broadcast::Sender<String>,
    stop: impl std::future::Future<Output = ()>,
) {
    let run = async {
        loop {
            let mut listener = match connect(&url, channel).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, channel, "cannot listen for changes; retrying");
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    continue;
                }
            };
            // Anything may have changed while nobody listened.
            let _ = received.send(Feed::EVERYTHING.to_owned());
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        for key in notification.payload().split('\n') {
                            let _ = received.send(key.to_owned());
                        }
                    }
                    // The connection was lost; sqlx reconnects on the next call.
                    Ok(None) => {
                        let _ = received.send(Feed::EVERYTHING.to_owned());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, channel, "listening for changes failed");
                        break;
                    }
                }
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    };
    tokio::select! {
        () = run => {}
        () = stop => {}
    }
}

async fn connect(url: &DatabaseUrl, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url.expose()).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
