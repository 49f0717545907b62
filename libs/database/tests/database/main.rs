//! The pool and migrations on both backends, each test on a fresh database.

#![allow(clippy::unwrap_used)]

use database::testing::TestDatabase;
use database::{Backend, Database, DatabaseConfig};
use sqlx::Row as _;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations");

/// Migrations apply once, and portable SQL (`$N`, BIGINT ms, TEXT JSON) round-trips.
async fn migrations_and_portable_sql(db: &Database) {
    db.migrate(&MIGRATOR).await.unwrap();
    // Idempotent: a second start-up applies nothing.
    db.migrate(&MIGRATOR).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(applied, 2);

    sqlx::query("INSERT INTO owners (id, created_at_ms) VALUES ($1, $2)")
        .bind("owner-1")
        .bind(1_700_000_000_000_i64)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO things (id, owner_id, created_at_ms, payload) VALUES ($1, $2, $3, $4)",
    )
    .bind("thing-1")
    .bind("owner-1")
    .bind(1_700_000_000_123_i64)
    .bind(r#"{"amount":"12.50"}"#)
    .execute(db.pool())
    .await
    .unwrap();
    let row =
        sqlx::query("SELECT id, created_at_ms, payload, status FROM things WHERE owner_id = $1")
            .bind("owner-1")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(row.get::<String, _>("id"), "thing-1");
    assert_eq!(row.get::<i64, _>("created_at_ms"), 1_700_000_000_123);
    assert_eq!(row.get::<String, _>("payload"), r#"{"amount":"12.50"}"#);
    assert_eq!(row.get::<String, _>("status"), "new");

    // Foreign keys are enforced on both backends.
    let orphan = sqlx::query(
        "INSERT INTO things (id, owner_id, created_at_ms, payload) VALUES ($1, $2, $3, $4)",
    )
    .bind("thing-2")
    .bind("nobody")
    .bind(0_i64)
    .bind("{}")
    .execute(db.pool())
    .await;
    assert!(orphan.is_err(), "a foreign key violation must fail");
    db.ping().await.unwrap();
}

#[tokio::test]
async fn sqlite_migrations_and_portable_sql() {
    let db = TestDatabase::sqlite().await;
    assert_eq!(db.backend(), Backend::Sqlite);
    migrations_and_portable_sql(&db).await;
}

#[tokio::test]
async fn postgres_migrations_and_portable_sql() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    assert_eq!(db.backend(), Backend::Postgres);
    migrations_and_portable_sql(&db).await;
}

/// The schema version against the build's migrations: nothing before the first migration,
/// the newest after them, and a schema NEWER than the build (a later release migrated) is
/// still one this build runs on.
async fn schema_status_follows_the_migrations(db: &Database) {
    assert_eq!(database::required_version(&MIGRATOR), 2);
    let fresh = db.schema_status(&MIGRATOR).await.unwrap();
    assert_eq!(fresh.applied, None);
    assert_eq!(fresh.required, 2);
    assert!(!fresh.is_ready());
    assert_eq!(
        fresh.to_string(),
        "schema at version 0, this build needs 2: run the migrate Job (`<service> migrate`)"
    );

    db.migrate(&MIGRATOR).await.unwrap();
    let migrated = db.schema_status(&MIGRATOR).await.unwrap();
    assert_eq!(migrated.applied, Some(2));
    assert!(migrated.is_ready());

    // A later release's migration, as sqlx records it.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(3_i64)
    .bind("a later release")
    .bind(true)
    .bind(vec![0_u8; 4])
    .bind(0_i64)
    .execute(db.pool())
    .await
    .unwrap();
    let newer = db.schema_status(&MIGRATOR).await.unwrap();
    assert_eq!(newer.applied, Some(3));
    assert!(newer.is_ready(), "a newer schema is fine (expand/contract)");
}

#[tokio::test]
async fn sqlite_schema_status_follows_the_migrations() {
    let db = TestDatabase::sqlite().await;
    schema_status_follows_the_migrations(&db).await;
}

#[tokio::test]
async fn postgres_schema_status_follows_the_migrations() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    schema_status_follows_the_migrations(&db).await;
}

#[tokio::test]
async fn sqlite_files_are_created_with_wal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not/yet/there.db");
    let db = Database::connect(&DatabaseConfig::new(format!("sqlite:{}", file.display())))
        .await
        .unwrap();
    assert!(file.is_file());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(busy, 5000);
    db.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_is_one_database() {
    let db = Database::connect(&DatabaseConfig::new("sqlite::memory:"))
        .await
        .unwrap();
    db.migrate(&MIGRATOR).await.unwrap();
    // Every later query sees the migrated schema: one connection, one database.
    for _ in 0..3 {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM things")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
}

#[tokio::test]
async fn each_postgres_test_database_is_fresh_and_dropped() {
    let Some(first) = TestDatabase::postgres().await else {
        return;
    };
    let Some(second) = TestDatabase::postgres().await else {
        return;
    };
    let name = first.postgres_name().unwrap().to_owned();
    assert_ne!(Some(name.as_str()), second.postgres_name());
    first.migrate(&MIGRATOR).await.unwrap();
    // The second database has none of the first one's tables.
    let missing = sqlx::query("SELECT COUNT(*) FROM things")
        .fetch_one(second.pool())
        .await;
    assert!(missing.is_err());

    drop(first);
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(second.pool())
        .await
        .unwrap();
    assert_eq!(exists, 0, "{name} was not dropped");
}

#[tokio::test]
async fn unsupported_urls_and_unreachable_servers_are_clear_errors() {
    let err = Database::connect(&DatabaseConfig::new("mysql://root@localhost/x"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported database URL"),
        "{err}"
    );

    let mut config = DatabaseConfig::new("postgres://app:s3cret@127.0.0.1:1/none");
    config.acquire_timeout = std::time::Duration::from_secs(2);
    let err = Database::connect(&config).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
