//! Whole-stack tests (see the crate docs for how the stack starts): the web app in headless
//! Chromium, and schemathesis against the gateway's OpenAPI document. The tools they drive
//! come from `make deps`; when one is missing the test fails under `CI=true` and otherwise
//! prints why it skips.

// Test helpers outside `#[test]` functions may panic on broken setup; that is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod browser;
mod deletion;
mod schemathesis;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

/// `tests/e2e`: the Node script, its package-lock.json and node_modules.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

pub(crate) fn has_command(cmd: &str, args: &[&str]) -> bool {
    std::process::Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a program with a deadline; returns its exit status success, stdout and stderr.
pub(crate) async fn run(
    program: &str,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, String)],
    timeout: Duration,
) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} did not finish within {timeout:?}"))
        .expect("program output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON object on the last line of `stdout` that starts with `{`.
pub(crate) fn last_json(stdout: &str, stderr: &str) -> Value {
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    serde_json::from_str(last.unwrap_or("null"))
        .unwrap_or_else(|e| panic!("no JSON result ({e}):\nstdout:\n{stdout}\nstderr:\n{stderr}"))
}
