//! The alerts (`deploy/observability/alerts.yaml`): promtool's checks and unit tests pass, every
//! alert is unit-tested and links a runbook that exists, and the production overlay's
//! PrometheusRule carries exactly the same groups.

use std::process::Command;

use serde_json::Value;

use crate::{missing, rendered, repo_root};

fn rules() -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/alerts.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn alerts(rules: &Value) -> Vec<&Value> {
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect()
}

/// promtool from `make deps` (Debian's package, unpacked in tools/promtool), or on PATH.
fn promtool() -> Option<std::path::PathBuf> {
    let unpacked = repo_root().join("tools/promtool/usr/bin/promtool");
    if unpacked.exists() {
        return Some(unpacked);
    }
    Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        .then(|| "promtool".into())
}

#[test]
fn promtool_checks_the_rules_and_passes_their_unit_tests() {
    let Some(promtool) = promtool() else {
        missing("promtool (Debian's prometheus package)");
        return;
    };
    let dir = repo_root().join("deploy/observability");
    for args in [
        ["check", "rules", "alerts.yaml"],
        ["test", "rules", "alerts_test.yaml"],
    ] {
        let output = Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn every_alert_is_unit_tested_firing_and_links_its_runbook() {
    let rules = rules();
    let text =
        std::fs::read_to_string(repo_root().join("deploy/observability/alerts_test.yaml")).unwrap();
    let tests: Value = serde_norway::from_str(&text).unwrap();
    let fired: Vec<&str> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().unwrap())
        .filter(|a| a["exp_alerts"].as_array().is_some_and(|e| !e.is_empty()))
        .map(|a| a["alertname"].as_str().unwrap())
        .collect();
    let all = alerts(&rules);
    assert!(all.len() >= 10, "{} alerts", all.len());
    for alert in all {
        let name = alert["alert"].as_str().unwrap();
        assert!(fired.contains(&name), "{name} has no test where it fires");
        let runbook = alert["annotations"]["runbook_url"].as_str().unwrap();
        assert_eq!(runbook, format!("docs/runbooks/{name}.md"));
        let page = std::fs::read_to_string(repo_root().join(runbook))
            .unwrap_or_else(|e| panic!("{name}: {runbook}: {e}"));
        assert!(page.starts_with(&format!("# {name}\n")), "{runbook}");
        for section in ["## What it means", "## How to look", "## How to fix"] {
            assert!(page.contains(section), "{runbook} lacks {section}");
        }
    }
}

#[test]
fn the_production_prometheus_rule_is_the_rule_file() {
    let Some(m) = rendered("production") else {
        return;
    };
    let rule = m
        .get("PrometheusRule", "connect-alerts")
        .expect("the production overlay's PrometheusRule");
    assert_eq!(rule["spec"]["groups"], rules()["groups"]);
}
