//! The `data-service` binary: `migrate` applies the migrations and exits; bad configuration
//! stops it before any port is bound, naming the variable.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_data-service");

#[test]
fn migrate_applies_the_migrations_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data.db");
    let out = Command::new(BIN)
        .arg("migrate")
        .env(
            "DATA_SERVICE__DATABASE__URL",
            format!("sqlite:{}", db.display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables = std::fs::read(&db).unwrap();
    for table in ["webhook_events", "sync_jobs", "records", "sync_status"] {
        assert!(
            tables.windows(table.len()).any(|w| w == table.as_bytes()),
            "{table} created"
        );
    }
}

#[test]
fn bad_configuration_exits_with_status_2_naming_the_variable() {
    let out = Command::new(BIN)
        .env("DATA_SERVICE__SYNC__PAGE_SIZE", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATA_SERVICE__SYNC__PAGE_SIZE"), "{stderr}");
}
