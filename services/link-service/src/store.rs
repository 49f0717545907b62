//! The service's own tables (`links`, `link_events`) behind typed operations, in portable
//! SQL for sqlx's `Any` driver (`$N` placeholders, TEXT ids and JSON, BIGINT epoch
//! milliseconds). Ownership races are settled by the database: `links.link_id` is the
//! primary key and registrations insert with `ON CONFLICT DO NOTHING`, so one owner wins
//! and the others read the winner's row. `link_events.webhook_id` makes each webhook apply
//! at most once.

use anyhow::Context as _;
use database::Feed;
use grpc_runtime::SealedColumn;
use sealing::{KeyRing, OpenError};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};

/// A link's status as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Valid,
    Invalid,
    Unconfirmed,
    TokenRequired,
    Deleted,
    /// A Belvo status this version does not know.
    Unknown,
}

impl Status {
    pub(crate) const ALL: [Status; 6] = [
        Status::Valid,
        Status::Invalid,
        Status::Unconfirmed,
        Status::TokenRequired,
        Status::Deleted,
        Status::Unknown,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Invalid => "invalid",
            Status::Unconfirmed => "unconfirmed",
            Status::TokenRequired => "token_required",
            Status::Deleted => "deleted",
            Status::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// How a link came to be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Registered,
    Adopted,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Registered => "registered",
            Origin::Adopted => "adopted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "registered" => Some(Origin::Registered),
            "adopted" => Some(Origin::Adopted),
            _ => None,
        }
    }
}

/// What Belvo reported about a link (`GET /api/links/{id}/`).
#[derive(Debug, Clone)]
pub(crate) struct BelvoFields {
    pub(crate) institution: String,
    pub(crate) access_mode: Option<String>,
    pub(crate) status: Status,
    pub(crate) refresh_rate: Option<String>,
    pub(crate) fetch_resources: Vec<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) institution_user_id: Option<String>,
    pub(crate) belvo_created_at: Option<i64>,
    pub(crate) last_accessed_at: Option<i64>,
    /// Belvo's link object, as JSON text.
    pub(crate) json: String,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkRow {
    pub(crate) link_id: String,
    pub(crate) owner: String,
    pub(crate) region: String,
    pub(crate) institution: String,
    pub(crate) access_mode: Option<String>,
    pub(crate) status: Status,
    pub(crate) refresh_rate: Option<String>,
    pub(crate) fetch_resources: Vec<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) institution_user_id: Option<String>,
    pub(crate) origin: Origin,
    pub(crate) belvo_created_at: Option<i64>,
    pub(crate) last_accessed_at: Option<i64>,
    pub(crate) registered_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) status_changed_at: i64,
    pub(crate) last_refresh_requested_at: Option<i64>,
    pub(crate) deleted_at: Option<i64>,
}

/// A `LINK` webhook to apply.
#[derive(Debug, Clone)]
pub(crate) struct LinkEvent<'a> {
    pub(crate) link_id: &'a str,
    pub(crate) webhook_id: &'a str,
    pub(crate) code: &'a str,
    pub(crate) new_status: Status,
    pub(crate) received_at: i64,
    pub(crate) error_code: Option<&'a str>,
    pub(crate) error_message: Option<&'a str>,
}

/// What applying an event did.
#[derive(Debug, Clone)]
pub(crate) struct EventOutcome {
    pub(crate) link: LinkRow,
    pub(crate) previous: Status,
    pub(crate) changed: bool,
}

/// A keyset position in an owner's list: the last row of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct After {
    pub(crate) registered_at: i64,
    pub(crate) link_id: String,
}

const COLUMNS: &str = "link_id, owner, region, institution, access_mode, status, refresh_rate, \
     fetch_resources, external_id, institution_user_id, origin, belvo_created_at, \
     last_accessed_at, registered_at, updated_at, status_changed_at, \
     last_refresh_requested_at, deleted_at";

/// The PostgreSQL channel of link changes.
pub(crate) const CHANGES_CHANNEL: &str = "link_changes";

/// The columns sealed with a key ring: Belvo's link object and the user's id at their
/// institution (Belvo derives it from their credentials). Queries filter on neither.
pub(crate) const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "links",
        key: &["link_id"],
        column: "belvo_json",
        folded: &[],
    },
    SealedColumn {
        table: "links",
        key: &["link_id"],
        column: "institution_user_id",
        folded: &[],
    },
];

/// The links tables, and the feed of the links they change (for `WatchLink`, on every replica).
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pool: AnyPool,
    changes: Feed,
    /// Seals the [`SEALED`] columns; `None`: stored in clear.
    sealing: Option<KeyRing>,
}

impl Store {
    pub(crate) fn new(pool: AnyPool, changes: Feed, sealing: Option<KeyRing>) -> Self {
        Self {
            pool,
            changes,
            sealing,
        }
    }

    /// `value` as stored: sealed with a key ring.
    fn seal(&self, value: Option<&str>) -> Option<String> {
        value.map(|v| match &self.sealing {
            Some(ring) => ring.seal(v.as_bytes()),
            None => v.to_owned(),
        })
    }

    /// A stored value read back: opened when sealed.
    fn open(&self, stored: Option<String>) -> Result<Option<String>, StoreError> {
        Ok(stored
            .map(|value| KeyRing::open_stored(self.sealing.as_ref(), value))
            .transpose()?)
    }

    /// Link ids changed from now on, by any replica.
    pub(crate) fn changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    /// Inserts a new link unless one with the same id exists; true when inserted.
    pub(crate) async fn insert(
        &self,
        link_id: &str,
        owner: &str,
        region: &str,
        origin: Origin,
        belvo: &BelvoFields,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO links ({COLUMNS}, belvo_json) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (link_id) DO NOTHING"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link_id)
            .bind(owner)
            .bind(region)
            .bind(&belvo.institution)
            .bind(belvo.access_mode.as_deref())
            .bind(belvo.status.as_str())
            .bind(belvo.refresh_rate.as_deref())
            .bind(encode_list(&belvo.fetch_resources)?)
            .bind(belvo.external_id.as_deref())
            .bind(self.seal(belvo.institution_user_id.as_deref()))
            .bind(origin.as_str())
            .bind(belvo.belvo_created_at)
            .bind(belvo.last_accessed_at)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(None::<i64>)
            .bind(None::<i64>)
            .bind(self.seal(Some(&belvo.json)))
            .execute(&self.pool)
            .await?;
        let inserted = done.rows_affected() == 1;
        if inserted {
            self.changes.publish(link_id);
        }
        Ok(inserted)
    }

    /// Replaces the Belvo fields of `owner`'s live link with what Belvo reports now.
    pub(crate) async fn update_belvo_fields(
        &self,
        link_id: &str,
        owner: &str,
        belvo: &BelvoFields,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE links SET institution = $1, access_mode = $2, \
             status_changed_at = CASE WHEN status = $3 THEN status_changed_at ELSE $4 END, \
             status = $3, refresh_rate = $5, fetch_resources = $6, external_id = $7, \
             institution_user_id = $8, belvo_created_at = $9, last_accessed_at = $10, \
             belvo_json = $11, updated_at = $4 \
             WHERE link_id = $12 AND owner = $13 AND status <> 'deleted'",
        )
        .bind(&belvo.institution)
        .bind(belvo.access_mode.as_deref())
        .bind(belvo.status.as_str())
        .bind(now)
        .bind(belvo.refresh_rate.as_deref())
        .bind(encode_list(&belvo.fetch_resources)?)
        .bind(belvo.external_id.as_deref())
        .bind(self.seal(belvo.institution_user_id.as_deref()))
        .bind(belvo.belvo_created_at)
        .bind(belvo.last_accessed_at)
        .bind(self.seal(Some(&belvo.json)))
        .bind(link_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        self.changes.publish(link_id);
        Ok(())
    }

    /// One link.
    pub(crate) async fn get(&self, link_id: &str) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM links WHERE link_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(link_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| self.decode(&r)).transpose()
    }

    /// Up to `limit` of `owner`'s links in `statuses`, newest registration first, after
    /// `after`.
    pub(crate) async fn list(
        &self,
        owner: &str,
        statuses: &[Status],
        after: Option<&After>,
        limit: i64,
    ) -> Result<Vec<LinkRow>, StoreError> {
        // Only placeholders are formatted in; every value is bound.
        let mut sql = format!("SELECT {COLUMNS} FROM links WHERE owner = $1");
        let mut n = 1;
        if !statuses.is_empty() {
            let marks: Vec<String> = (0..statuses.len())
                .map(|i| format!("${}", n + 1 + i))
                .collect();
            n += statuses.len();
            sql.push_str(&format!(" AND status IN ({})", marks.join(", ")));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (registered_at < ${a} OR (registered_at = ${a} AND link_id < ${b}))",
                a = n + 1,
                b = n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY registered_at DESC, link_id DESC LIMIT ${}",
            n + 1
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
        for status in statuses {
            query = query.bind(status.as_str());
        }
        if let Some(after) = after {
            query = query.bind(after.registered_at).bind(after.link_id.clone());
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| self.decode(r)).collect()
    }

    /// A link from its row, its sealed columns opened.
    fn decode(&self, row: &AnyRow) -> Result<LinkRow, StoreError> {
        let status: String = row.try_get("status")?;
        let origin: String = row.try_get("origin")?;
        let fetch_resources: String = row.try_get("fetch_resources")?;
        Ok(LinkRow {
            link_id: row.try_get("link_id")?,
            owner: row.try_get("owner")?,
            region: row.try_get("region")?,
            institution: row.try_get("institution")?,
            access_mode: row.try_get("access_mode")?,
            status: Status::parse(&status)
                .with_context(|| format!("unknown stored status {status:?}"))?,
            refresh_rate: row.try_get("refresh_rate")?,
            fetch_resources: serde_json::from_str(&fetch_resources)
                .context("stored fetch_resources is not a JSON list")?,
            external_id: row.try_get("external_id")?,
            institution_user_id: self.open(row.try_get("institution_user_id")?)?,
            origin: Origin::parse(&origin)
                .with_context(|| format!("unknown stored origin {origin:?}"))?,
            belvo_created_at: row.try_get("belvo_created_at")?,
            last_accessed_at: row.try_get("last_accessed_at")?,
            registered_at: row.try_get("registered_at")?,
            updated_at: row.try_get("updated_at")?,
            status_changed_at: row.try_get("status_changed_at")?,
            last_refresh_requested_at: row.try_get("last_refresh_requested_at")?,
            deleted_at: row.try_get("deleted_at")?,
        })
    }

    /// Tells every replica's watchers that `link_id` changed (written by another module).
    pub(crate) fn changed(&self, link_id: &str) {
        self.changes.publish(link_id);
    }

    /// Records a successful refresh request.
    pub(crate) async fn set_refreshed(&self, link_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE links SET last_refresh_requested_at = $1, updated_at = $1 WHERE link_id = $2",
        )
        .bind(now)
        .bind(link_id)
        .execute(&self.pool)
        .await?;
        self.changes.publish(link_id);
        Ok(())
    }

    /// Applies a `LINK` webhook: records it once per webhook id and moves the status unless
    /// the event is a duplicate, stale (`received_at < status_changed_at`), a no-op, or the
    /// link is DELETED. `None` when the link is not registered (nothing is recorded, so the
    /// caller can apply the event again later).
    pub(crate) async fn apply_event(
        &self,
        event: &LinkEvent<'_>,
        now: i64,
    ) -> Result<Option<EventOutcome>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first, so that a SQLite transaction takes the write lock at once.
        let recorded = sqlx::query(
            "INSERT INTO link_events (webhook_id, link_id, code, received_at, applied_at, \
             changed, error_code, error_message) VALUES ($1, $2, $3, $4, $5, 0, $6, $7) \
             ON CONFLICT (webhook_id) DO NOTHING",
        )
        .bind(event.webhook_id)
        .bind(event.link_id)
        .bind(event.code)
        .bind(event.received_at)
        .bind(now)
        .bind(event.error_code)
        .bind(event.error_message)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let sql = format!("SELECT {COLUMNS} FROM links WHERE link_id = $1");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.link_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let link = self.decode(&row)?;
        let previous = link.status;
        let applies = recorded
            && previous != Status::Deleted
            && previous != event.new_status
            && event.received_at >= link.status_changed_at;
        if !applies {
            tx.commit().await?;
            return Ok(Some(EventOutcome {
                link,
                previous,
                changed: false,
            }));
        }
        let deleted_at = (event.new_status == Status::Deleted).then_some(now);
        let changed = sqlx::query(
            "UPDATE links SET status = $1, status_changed_at = $2, updated_at = $3, \
             deleted_at = $4 WHERE link_id = $5 AND status = $6 AND status_changed_at <= $2",
        )
        .bind(event.new_status.as_str())
        .bind(event.received_at)
        .bind(now)
        .bind(deleted_at)
        .bind(event.link_id)
        .bind(previous.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if changed {
            sqlx::query("UPDATE link_events SET changed = 1 WHERE webhook_id = $1")
                .bind(event.webhook_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if changed {
            self.changes.publish(event.link_id);
        }
        let link = self
            .get(event.link_id)
            .await?
            .context("a link vanished while its event was applied")?;
        Ok(Some(EventOutcome {
            link,
            previous,
            changed,
        }))
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Decode(#[from] anyhow::Error),
    /// A sealed value cannot be opened (no key ring, or not its key).
    #[error("a stored value cannot be opened: {0}")]
    Sealed(#[from] OpenError),
}

impl From<StoreError> for crate::error::ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Sql(e) => Self::Database(e),
            StoreError::Decode(e) => Self::Internal(e),
            StoreError::Sealed(e) => Self::Internal(e.into()),
        }
    }
}

fn encode_list(items: &[String]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(items).context("cannot encode a list")?)
}

#[cfg(test)]
mod tests {
    use database::Backend;
    use database::testing::TestDatabase;

    use super::*;

    fn fields() -> BelvoFields {
        BelvoFields {
            institution: "erebor_mx_retail".into(),
            access_mode: Some("recurrent".into()),
            status: Status::Valid,
            refresh_rate: Some("7d".into()),
            fetch_resources: vec!["ACCOUNTS".into()],
            external_id: Some("ext-1".into()),
            institution_user_id: None,
            belvo_created_at: Some(1_700_000_000_000),
            last_accessed_at: None,
            json: "{}".into(),
        }
    }

    /// Many owners racing to insert one link: exactly one wins and the row is theirs.
    async fn one_owner_wins_a_race(backend: Backend) {
        let Some(db) = TestDatabase::new(backend).await else {
            return;
        };
        db.migrate(&crate::MIGRATOR).await.unwrap();
        let feed = Feed::start(db.db(), CHANGES_CHANNEL, std::future::pending());
        let store = Store::new(db.pool().clone(), feed, None);
        let fields = fields();
        let attempts = (0..8).map(|i| {
            let store = store.clone();
            let fields = fields.clone();
            tokio::spawn(async move {
                let owner = format!("owner-{i}");
                let won = store
                    .insert("link-1", &owner, "mx", Origin::Registered, &fields, 1)
                    .await
                    .unwrap();
                (owner, won)
            })
        });
        let mut winners = Vec::new();
        for attempt in attempts {
            let (owner, won) = attempt.await.unwrap();
            if won {
                winners.push(owner);
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let row = store.get("link-1").await.unwrap().unwrap();
        assert_eq!(row.owner, winners[0]);
        assert_eq!(row.fetch_resources, ["ACCOUNTS"]);
        assert_eq!(row.belvo_created_at, Some(1_700_000_000_000));
        assert_eq!(row.last_accessed_at, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_owner_wins_a_race_sqlite() {
        one_owner_wins_a_race(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_owner_wins_a_race_postgres() {
        one_owner_wins_a_race(Backend::Postgres).await;
    }

    fn ring(active: &str, ids: &[&str]) -> KeyRing {
        let mut text = format!("active = \"{active}\"\n[keys]\n");
        for id in ids {
            let key = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                [id.as_bytes()[1]; 32],
            );
            text.push_str(&format!("\"{id}\" = \"{key}\"\n"));
        }
        KeyRing::parse(&text).unwrap()
    }

    /// Belvo's link object and the institution user id are sealed at rest and read back; after
    /// a rotation the pass re-seals them and the old key is retirable.
    async fn sealed_at_rest_and_resealed(backend: Backend) {
        let Some(db) = TestDatabase::new(backend).await else {
            return;
        };
        db.migrate(&crate::MIGRATOR).await.unwrap();
        let feed = Feed::start(db.db(), CHANGES_CHANNEL, std::future::pending());
        let store = Store::new(db.pool().clone(), feed.clone(), Some(ring("k1", &["k1"])));
        let mut belvo = fields();
        belvo.institution_user_id = Some("gloria-delgado-4417".into());
        belvo.json = r#"{"institution_user_id":"gloria-delgado-4417"}"#.into();
        assert!(
            store
                .insert("l1", "o1", "mx", Origin::Registered, &belvo, 1)
                .await
                .unwrap()
        );
        let raw: (String, String) =
            sqlx::query_as("SELECT institution_user_id, belvo_json FROM links")
                .fetch_one(db.pool())
                .await
                .unwrap();
        for value in [&raw.0, &raw.1] {
            assert!(
                value.starts_with("sealed1:k1:") && !value.contains("gloria"),
                "{value}"
            );
        }
        let read = store.get("l1").await.unwrap().unwrap();
        assert_eq!(
            read.institution_user_id.as_deref(),
            Some("gloria-delgado-4417")
        );

        let columns = grpc_runtime::SealedColumns::new(
            db.db().clone(),
            Some(ring("k2", &["k1", "k2"])),
            SEALED,
            &prometheus::Registry::new(),
        )
        .unwrap();
        let resealed: Vec<u64> = columns
            .pass()
            .await
            .unwrap()
            .iter()
            .map(|r| r.resealed)
            .collect();
        assert_eq!(resealed, [1, 1]);
        let usage = columns.usage().await.unwrap();
        assert_eq!(usage.retirable_keys, ["k1"], "{usage:?}");
        let retired = Store::new(db.pool().clone(), feed, Some(ring("k2", &["k2"])));
        let read = retired.get("l1").await.unwrap().unwrap();
        assert_eq!(
            read.institution_user_id.as_deref(),
            Some("gloria-delgado-4417")
        );
    }

    #[tokio::test]
    async fn sealed_at_rest_and_resealed_sqlite() {
        sealed_at_rest_and_resealed(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn sealed_at_rest_and_resealed_postgres() {
        sealed_at_rest_and_resealed(Backend::Postgres).await;
    }
}
