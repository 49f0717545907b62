//! Every migration of the three services keeps the rolling-deploy rule (docs/migrations.md):
//! expand only, unless it names the release whose expand step it completes
//! (`-- contracts: <release>`).

use std::path::PathBuf;

use deploy_tests::migrations::{contracts, violations};

use crate::repo_root;

/// The services that own a database, and so migrations.
const SERVICES: [&str; 3] = ["token-service", "link-service", "data-service"];

/// Migrations written before the rule that break it, as `<service>/<file name>`: not checked.
/// None today: every migration written before the rule (each service's `0001_…`) already
/// keeps it, so all are checked. An entry whose file no longer exists fails the test, so the
/// list cannot rot.
const GRANDFATHERED: &[&str] = &[];

fn migration_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for service in SERVICES {
        let dir = repo_root()
            .join("services")
            .join(service)
            .join("migrations");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sql") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_migration_is_expand_only_or_names_the_release_it_contracts() {
    let files = migration_files();
    assert!(
        files.len() >= SERVICES.len(),
        "no migrations found: {files:?}"
    );
    // `<service>/<file name>`.
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            let service = f.parent().unwrap().parent().unwrap().file_name().unwrap();
            let file = f.file_name().unwrap();
            format!("{}/{}", service.to_string_lossy(), file.to_string_lossy())
        })
        .collect();
    for old in GRANDFATHERED {
        assert!(
            names.iter().any(|n| n == old),
            "grandfathered {old} no longer exists"
        );
    }
    let mut broken = Vec::new();
    for (file, name) in files.iter().zip(&names) {
        if GRANDFATHERED.contains(&name.as_str()) {
            continue;
        }
        let sql = std::fs::read_to_string(file).unwrap();
        for violation in violations(&sql) {
            broken.push(format!("{}: {violation}", file.display()));
        }
    }
    assert!(
        broken.is_empty(),
        "migrations that would break the release still running during a rollout (expand now, \
         contract in a later release with `-- contracts: <release>`; docs/migrations.md):\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn the_rule_catches_drop_rename_and_a_not_null_column_without_default() {
    let cases = [
        ("DROP TABLE links;", "DROP"),
        ("ALTER TABLE links DROP COLUMN owner;", "DROP"),
        ("DROP INDEX links_owner;", "DROP"),
        (
            "ALTER TABLE links RENAME COLUMN owner TO owner_id;",
            "RENAME",
        ),
        ("ALTER TABLE links RENAME TO old_links;", "RENAME"),
        (
            "ALTER TABLE links ADD COLUMN tier TEXT NOT NULL;",
            "NOT NULL column without a DEFAULT",
        ),
        (
            "ALTER TABLE links ADD note TEXT, ADD tier TEXT NOT NULL;",
            "NOT NULL column without a DEFAULT",
        ),
        (
            "ALTER TABLE links ALTER COLUMN note SET NOT NULL;",
            "SET NOT NULL",
        ),
        (
            "/* tidy up */ alter table links\n  drop column owner;",
            "DROP",
        ),
        (
            "CREATE INDEX links_tier ON links (tier);",
            "blocks writes to a live table",
        ),
    ];
    for (sql, expected) in cases {
        let found = violations(sql).join("\n");
        assert!(
            found.contains(expected),
            "{sql}: expected {expected:?} in {found:?}"
        );
    }
    // Expand steps pass.
    for sql in [
        "CREATE TABLE tiers (id TEXT NOT NULL PRIMARY KEY);",
        "ALTER TABLE links ADD COLUMN tier TEXT;",
        "ALTER TABLE links ADD COLUMN tier TEXT NOT NULL DEFAULT 'basic';",
        "ALTER TABLE links ADD CONSTRAINT tier_known CHECK (tier IS NOT NULL);",
        "-- no-transaction\nCREATE INDEX CONCURRENTLY links_tier ON links (tier);",
        "-- DROP TABLE links; only a comment\nUPDATE links SET note = 'rename drop';",
    ] {
        assert_eq!(violations(sql), Vec::<String>::new(), "{sql}");
    }
}

#[test]
fn a_contract_step_that_names_its_release_is_allowed() {
    let sql = "-- contracts: 0.3.0 (links.owner_id replaced owner, expanded in 0.3.0)\n\
               ALTER TABLE links DROP COLUMN owner;";
    assert_eq!(
        contracts(sql),
        Some("0.3.0 (links.owner_id replaced owner, expanded in 0.3.0)")
    );
    assert!(violations(sql).is_empty());
    // The marker needs a release.
    let unnamed = "-- contracts:\nALTER TABLE links DROP COLUMN owner;";
    assert_eq!(contracts(unnamed), None);
    assert!(!violations(unnamed).is_empty());
}
