//! The services' SQL storage: one `sqlx::AnyPool` for a `sqlite:` or `postgres:` URL, set
//! up the same way everywhere (SQLite files and their directory created if missing, WAL,
//! a busy timeout and foreign keys on every connection), the service's migrations run at
//! start-up, and the [`Backend`] exposed so the rare statement that must differ (job
//! claiming with `FOR UPDATE SKIP LOCKED`, say) can pick its form in one visible place.
//! Everything else is portable SQL through the Any driver: `$N` placeholders, times as
//! BIGINT epoch milliseconds or ISO text, ids and JSON as TEXT.
//!
//! [`Database::schema_status`] tells whether the schema is at the version a binary was built
//! with (the newest migration of its `Migrator`, against `_sqlx_migrations`), so a service
//! whose migrations run elsewhere (the Kubernetes Job) can wait for them instead of failing.
//!
//! With the `testing` feature, [`testing::TestDatabase`] gives each test its own fresh
//! database on either backend.

mod config;
mod feed;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyPool, Connection as _, Executor as _};

pub use config::{DatabaseConfig, DatabaseUrl};
pub use feed::Feed;
pub use sqlx;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` (a file, or `sqlite::memory:`).
    Sqlite,
    /// `postgres:` or `postgresql:`.
    Postgres,
}

impl Backend {
    /// The backend a URL names, from its scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    /// A seam for a statement that cannot be written portably: the SQLite form or the
    /// PostgreSQL form.
    pub fn pick<'a>(self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self {
            Self::Sqlite => sqlite,
            Self::Postgres => postgres,
        }
    }
}

/// What can go wrong with the database.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL {0} (expected sqlite: or postgres:)")]
    UnsupportedUrl(String),
    /// The directory of a SQLite file could not be created.
    #[error("cannot create the directory of {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No connection could be opened.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL, password masked.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] MigrateError),
    /// A statement failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// A connection pool and the backend it talks to.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// For connections of their own ([`Feed`]'s listener).
    url: DatabaseUrl,
}

/// How long a pooled connection may sit idle before it is pinged on its next use.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

impl Database {
    /// Opens the pool and checks that one connection works. SQLite files (and their
    /// directory) are created if missing.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, DatabaseError> {
        install_default_drivers();
        let url = config.url.expose();
        let redacted = config.url.redacted();
        let backend =
            Backend::from_url(url).ok_or(DatabaseError::UnsupportedUrl(redacted.clone()))?;
        let mut options = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            // A ping is a round trip, a fifth of a batch of webhooks: only a connection idle
            // for a while gets one (a database restarted meanwhile is noticed before a query
            // fails); a busy one that broke fails its query, which callers treat as the
            // database being unavailable, and is dropped.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_WHEN_IDLE_FOR {
                        return Ok(true);
                    }
                    Ok(conn.ping().await.is_ok())
                })
            });
        let url = match backend {
            Backend::Postgres => url.to_owned(),
            Backend::Sqlite => {
                let (url, in_memory) = prepare_sqlite_url(url).await?;
                if in_memory {
                    // Every connection to `sqlite::memory:` is a database of its own: keep
                    // exactly one, for the life of the pool.
                    options = options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None);
                }
                let pragmas = sqlite_pragmas(config.busy_timeout);
                options = options.after_connect(move |conn, _meta| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas)))
                            .await
                            .map(|_| ())
                    })
                });
                url
            }
        };
        let pool = options
            .connect(&url)
            .await
            .map_err(|source| DatabaseError::Connect {
                url: redacted.clone(),
                source,
            })?;
        tracing::info!(url = %redacted, ?backend, "database connected");
        Ok(Self {
            pool,
            backend,
            url: config.url.clone(),
        })
    }

    /// A service's database at start-up: connects, then runs `migrator` unless the
    /// configuration leaves migrations to a separate step (`run_migrations = false`).
    pub async fn open(config: &DatabaseConfig, migrator: &Migrator) -> Result<Self, DatabaseError> {
        let db = Self::connect(config).await?;
        if config.run_migrations {
            db.migrate(migrator).await?;
        }
        Ok(db)
    }

    /// Runs the service's migrations (`sqlx::migrate!("./migrations")`), each once.
    ///
    /// On PostgreSQL, replicas starting together take turns through an advisory lock that
    /// each one polls (`pg_try_advisory_lock`) instead of sqlx's blocking
    /// `pg_advisory_lock`: a session blocked on that lock is a running statement, which a
    /// `CREATE INDEX CONCURRENTLY` of the replica holding the lock waits for, forever.
    pub async fn migrate(&self, migrator: &Migrator) -> Result<(), DatabaseError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?;
                while !sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .fetch_one(&mut *conn)
                    .await?
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let mut unlocked = copy(migrator, |sql| sql.to_owned());
                unlocked.set_locking(false);
                let result = unlocked.run_direct(None, &mut *conn, false).await;
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await?;
                result?;
            }
            Backend::Sqlite => sqlite_migrator(migrator).run(&self.pool).await?,
        }
        Ok(())
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is, for the few statements that differ.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that a connection can be had and answers (for readiness).
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Where the schema stands against `migrator`: the newest version applied successfully
    /// (`None`: no migration has run, not even the table) and the newest version `migrator`
    /// holds, which this build needs.
    pub async fn schema_status(&self, migrator: &Migrator) -> Result<SchemaStatus, DatabaseError> {
        let required = required_version(migrator);
        let exists_sql = self.backend.pick(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
        );
        let tables: i64 = sqlx::query_scalar(exists_sql).fetch_one(&self.pool).await?;
        if tables == 0 {
            return Ok(SchemaStatus {
                applied: None,
                required,
            });
        }
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(SchemaStatus { applied, required })
    }

    /// Registers `database_up` in `registry` (1 when a `SELECT 1` answers, 0 when not) and
    /// checks every [`UP_CHECK_INTERVAL`] until `stop` resolves: what the DatabaseUnavailable
    /// alert reads.
    pub fn report_up(
        &self,
        registry: &prometheus::Registry,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> prometheus::Result<()> {
        let up = prometheus::IntGauge::new(
            "database_up",
            "1 when the service's database answers, 0 when it does not.",
        )?;
        registry.register(Box::new(up.clone()))?;
        let db = self.clone();
        tokio::spawn(async move {
            let check = async {
                let mut tick = tokio::time::interval(UP_CHECK_INTERVAL);
                loop {
                    tick.tick().await;
                    up.set(i64::from(db.ping().await.is_ok()));
                }
            };
            tokio::select! {
                () = check => {}
                () = stop => {}
            }
        });
        Ok(())
    }

    /// Closes the pool: waits for checked-out connections to return, then closes all; gives
    /// up after [`CLOSE_TIMEOUT`]. sqlx's `close` can wait forever when a connection lands back
    /// in the idle queue just after the pool was drained (its `return_to_pool` race, sqlx
    /// issue #3217): a SIGTERM'd pod then overruns its grace period and is killed. The process
    /// is exiting, so what is left is closed with it.
    pub async fn close(&self) {
        if tokio::time::timeout(CLOSE_TIMEOUT, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                timeout = ?CLOSE_TIMEOUT,
                "the database pool did not close in time; leaving its connections to the exit"
            );
        }
    }
}

/// The migrations as SQLite runs them. An index on a live PostgreSQL table is built
/// `CONCURRENTLY` (without blocking writes; docs/migrations.md), a keyword SQLite does not
/// know and does not need (one process, one writer): it is left out there. The checksum stays
/// the file's, so the history matches on both backends.
fn sqlite_migrator(migrator: &Migrator) -> Migrator {
    copy(migrator, |sql| {
        sql.replace(" INDEX CONCURRENTLY ", " INDEX ")
    })
}

/// The key of the migration lock (any constant: each service has a database of its own).
const MIGRATION_LOCK: i64 = 0x636f_6e6e_6563_7400;

/// `migrator` with each migration's SQL passed through `sql` (checksums kept).
fn copy(migrator: &Migrator, sql: impl Fn(&str) -> String) -> Migrator {
    use sqlx::SqlSafeStr as _;
    let migrations = migrator
        .migrations
        .iter()
        .map(|m| sqlx::migrate::Migration {
            sql: sqlx::AssertSqlSafe(sql(m.sql.as_str())).into_sql_str(),
            ..m.clone()
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: std::borrow::Cow::Owned(migrations),
        ignore_missing: migrator.ignore_missing,
        locking: migrator.locking,
        no_tx: migrator.no_tx,
        table_name: migrator.table_name.clone(),
        create_schemas: migrator.create_schemas.clone(),
    }
}

/// Whether a database error means the database cannot be reached now (down, restarting, the
/// pool exhausted), rather than a fault of the statement: a caller may try again.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P01-57P03 (shutdown, crash,
        // cannot connect now).
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// How often [`Database::report_up`] checks the database.
pub const UP_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// How long [`Database::close`] waits for the pool (well inside a pod's grace period).
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a database's schema stands against the migrations a binary was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration applied successfully; `None` before the first one.
    pub applied: Option<i64>,
    /// The newest migration of the binary's `Migrator` (0 when it has none).
    pub required: i64,
}

impl SchemaStatus {
    /// Whether this build can run on the schema: at its version, or NEWER (a later release
    /// already migrated: migrations only expand the schema while two releases run side by
    /// side, see docs/migrations.md, so an older build still finds everything it uses).
    pub fn is_ready(&self) -> bool {
        self.applied.unwrap_or(0) >= self.required
    }
}

impl std::fmt::Display for SchemaStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let applied = self.applied.unwrap_or(0);
        if self.is_ready() {
            write!(
                f,
                "schema at version {applied}, this build needs {}",
                self.required
            )?;
            if applied > self.required {
                write!(
                    f,
                    " (newer: a later release migrated it; expand-only, so fine)"
                )?;
            }
            Ok(())
        } else {
            write!(
                f,
                "schema at version {applied}, this build needs {}: run the migrate Job \
                 (`<service> migrate`)",
                self.required
            )
        }
    }
}

/// The newest (up) migration of `migrator`: the schema version a binary was built with.
pub fn required_version(migrator: &Migrator) -> i64 {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// The PRAGMAs every SQLite connection gets: WAL (readers do not block the writer), a busy
/// timeout (writers wait instead of failing at once), foreign keys enforced, and NORMAL
/// sync (safe with WAL).
fn sqlite_pragmas(busy_timeout: Duration) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL;",
        busy_timeout.as_millis()
    )
}

/// Adds `mode=rwc` (create if missing) to a SQLite file URL that sets no mode, and creates
/// the file's directory. Returns the URL and whether it is an in-memory database.
async fn prepare_sqlite_url(url: &str) -> Result<(String, bool), DatabaseError> {
    let rest = url.trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.trim_start_matches("//");
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    if in_memory {
        return Ok((url.to_owned(), true));
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| DatabaseError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
    }
    let url = if query.contains("mode=") {
        url.to_owned()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    };
    Ok((url, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_urls() {
        assert_eq!(
            Backend::from_url("sqlite:.data/x.db"),
            Some(Backend::Sqlite)
        );
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/db"), None);
        assert_eq!(Backend::from_url("nonsense"), None);
        assert_eq!(Backend::Postgres.pick("a", "b"), "b");
    }

    #[test]
    fn schema_status_is_ready_at_or_above_the_build() {
        let status = |applied, required| SchemaStatus { applied, required };
        assert!(!status(None, 1).is_ready());
        assert!(!status(Some(1), 2).is_ready());
        assert!(status(Some(2), 2).is_ready());
        assert!(status(Some(3), 2).is_ready());
        assert!(status(None, 0).is_ready());
        assert_eq!(
            status(Some(1), 2).to_string(),
            "schema at version 1, this build needs 2: run the migrate Job (`<service> migrate`)"
        );
        assert!(status(Some(3), 2).to_string().contains("newer"));
    }

    #[tokio::test]
    async fn sqlite_urls_create_files_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/dir/x.db");
        let url = format!("sqlite:{}", file.display());
        let (prepared, memory) = prepare_sqlite_url(&url).await.unwrap();
        assert!(!memory);
        assert_eq!(prepared, format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
        let (prepared, _) = prepare_sqlite_url(&format!("{url}?mode=ro")).await.unwrap();
        assert!(prepared.ends_with("?mode=ro"));
        assert!(prepare_sqlite_url("sqlite::memory:").await.unwrap().1);
    }
}
