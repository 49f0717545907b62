//! The `data-service` binary: `migrate` applies the migrations and exits; `wait-for-schema`
//! waits until they have been applied, then exits; bad configuration
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

/// `wait-for-schema` (the production pods' init container) on a database the Job has not
/// migrated: says so once and keeps waiting; `migrate` (the Job) runs; it exits 0 by itself.
async fn wait_for_schema_exits_once_migrate_has_run(backend: database::Backend) {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let Some(db) = database::testing::TestDatabase::new(backend).await else {
        return;
    };
    let mut waiter = Command::new(BIN)
        .arg("wait-for-schema")
        .env("DATA_SERVICE__DATABASE__URL", db.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, said) = std::sync::mpsc::channel::<String>();
    for pipe in [
        Box::new(waiter.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(waiter.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    let latest = data_service::MIGRATOR.iter().map(|m| m.version).max();
    let needs = format!(
        "schema at version 0, this build needs {}: run the migrate Job",
        latest.unwrap()
    );
    let deadline = Duration::from_secs(30);
    let until = Instant::now() + deadline;
    let mut seen = Vec::new();
    loop {
        let line = said
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!("no `run the migrate Job` line within {deadline:?}: {seen:?}")
            });
        if line.contains(&needs) {
            break;
        }
        seen.push(line);
    }
    assert!(waiter.try_wait().unwrap().is_none(), "it waits for the Job");

    let job = Command::new(BIN)
        .arg("migrate")
        .env("DATA_SERVICE__DATABASE__URL", db.url())
        .output()
        .unwrap();
    assert!(
        job.status.success(),
        "{}",
        String::from_utf8_lossy(&job.stderr)
    );
    let status = loop {
        if let Some(status) = waiter.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = waiter.kill();
            panic!("wait-for-schema still waiting {deadline:?} after the Job");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}

mod wait_for_schema_exits_once_migrate_has_run {
    #[tokio::test]
    async fn sqlite() {
        super::wait_for_schema_exits_once_migrate_has_run(database::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::wait_for_schema_exits_once_migrate_has_run(database::Backend::Postgres).await;
    }
}
