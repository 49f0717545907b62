//! Tests that drive the emulator with outside tools: the Connect Widget in headless Chromium
//! (playwright-core) and Belvo's official SDKs (`belvo-python` from PyPI, `belvo` from npm).
//! `make deps` installs them. When a tool is missing the test fails under `CI=true` and
//! otherwise prints why it skips.

// Test helpers outside `#[test]` functions may panic on broken setup; that is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod binary;
mod sdk;
mod widget;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

pub(crate) fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Whether the test may run; `false` means "skip" (already explained on stderr).
pub(crate) fn require(what: &str, ok: bool, hint: &str) -> bool {
    if ok {
        return true;
    }
    let msg = format!("{what} is missing ({hint}); run `make deps`");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("skipping: {msg}");
    false
}

pub(crate) fn has_command(cmd: &str, arg: &str) -> bool {
    std::process::Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn node_modules_has(pkg: &str) -> bool {
    tests_dir()
        .join("node_modules")
        .join(pkg)
        .join("package.json")
        .exists()
}

/// Runs a script with a deadline; returns the JSON of its last stdout line.
pub(crate) async fn run_json(
    program: &str,
    script: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> Value {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(script)
        .current_dir(tests_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn script");
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .expect("script finishes before its deadline")
        .expect("script output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        program,
        script.display(),
        out.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    serde_json::from_str(last.unwrap_or("null"))
        .unwrap_or_else(|e| panic!("no JSON result ({e}):\nstdout:\n{stdout}\nstderr:\n{stderr}"))
}
