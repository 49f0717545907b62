//! A fresh database per test, on either backend. SQLite: a file in a temporary directory,
//! removed with it. PostgreSQL: a uniquely named database created on the server at
//! `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, a server
//! where tests may create databases) and dropped when the [`TestDatabase`] is dropped.
//!
//! When that server cannot be reached, [`TestDatabase::postgres`] fails the test if
//! `CI=true` (CI must not skip), and otherwise prints why and returns `None` so the test
//! can skip: `let Some(db) = TestDatabase::postgres().await else { return };`.

#![allow(clippy::print_stderr)] // Test support: a skipped test says why on stderr.

use std::ops::Deref;
use std::time::Duration;

use sqlx::{AnyConnection, Connection as _, Executor as _};

use crate::{Backend, Database, DatabaseConfig};

/// The PostgreSQL server tests use when `TEST_POSTGRES_URL` is unset.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the test server before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database of one's own for the length of a test. Derefs to [`Database`].
#[derive(Debug)]
pub struct TestDatabase {
    db: Database,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh database on `backend`; `None` only for an unreachable PostgreSQL outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file.
    ///
    /// # Panics
    /// If the file cannot be created.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let db = Database::connect(&DatabaseConfig::new(url.clone()))
            .await
            .unwrap_or_else(|e| panic!("cannot open a test SQLite database: {e}"));
        Self {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (after saying why) when the server is
    /// unreachable outside CI.
    ///
    /// # Panics
    /// If the server is unreachable and `CI=true`, or refuses to create the database.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_TEST_POSTGRES_URL.to_owned());
        sqlx::any::install_default_drivers();
        let mut admin = match connect(&admin_url).await {
            Ok(conn) => conn,
            Err(reason) => {
                let message = format!(
                    "PostgreSQL test server at {} is unreachable: {reason}",
                    crate::DatabaseUrl::new(admin_url.clone()).redacted()
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{message} (CI=true: PostgreSQL tests must run)");
                }
                eprintln!("skipping PostgreSQL test: {message}");
                return None;
            }
        };
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;

        let url = database_url(&admin_url, &name);
        let db = Database::connect(&DatabaseConfig::new(url.clone()))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test database {name}: {e}"));
        Some(Self {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Its URL (for starting a service on it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Settings that connect to it.
    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig::new(self.url.clone())
    }

    /// The PostgreSQL database's name, if that is the backend.
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { name, .. } => Some(name),
            Cleanup::Sqlite(_) => None,
        }
    }
}

impl Deref for TestDatabase {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return; // The temp dir removes the SQLite file.
        };
        // Drop cannot await, and may run inside the test's runtime: drop the database from a
        // thread of its own. FORCE ends the pool's connections still open.
        let admin_url = admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = connect(&admin_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(sql))
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {name}: {e}"),
            Err(_) => eprintln!("could not drop test database {name}: the cleanup thread panicked"),
        }
    }
}

async fn connect(url: &str) -> Result<AnyConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// The admin URL with its database replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    match url::Url::parse(admin_url) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(_) => format!("{}/{name}", admin_url.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_swap_the_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "test_x"),
            "postgres://postgres@127.0.0.1:5432/test_x"
        );
        assert_eq!(
            database_url("postgres://u:p@h/postgres?sslmode=disable", "t"),
            "postgres://u:p@h/t?sslmode=disable"
        );
    }
}
