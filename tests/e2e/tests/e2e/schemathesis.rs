//! schemathesis (PyPI, pinned by `make deps`) against the running gateway's `/openapi.json`:
//! generated requests (valid and invalid) for every documented operation, with a dev token
//! and one real link of that user, must never get a 5xx nor a status, content type, header
//! or body that the document does not allow.

use std::time::{Duration, Instant};

use e2e_tests::Stack;
use serde_json::{Value, json};

use crate::{crate_dir, has_command, require, run};

async fn json(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// A link of `token`'s user, created through the emulator's widget API and registered.
async fn linked_account(http: &reqwest::Client, stack: &Stack, token: &str) -> String {
    let gw = &stack.gateway_url;
    let minted = json(
        http.post(format!("{gw}/v1/widget-token"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let access = minted["access_token"].as_str().unwrap();
    let created = json(
        http.post(format!("{}/_widget/api/links", stack.emulator_url))
            .bearer_auth(access)
            .json(&json!({
                "institution": "erebor_mx_retail",
                "username": "fuzz_user",
                "password": "pass_valid",
                "external_id": minted["widget"]["external_id"],
                "access_mode": "recurrent",
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let link_id = created["id"].as_str().unwrap().to_owned();
    json(
        http.post(format!("{gw}/v1/links"))
            .bearer_auth(token)
            .json(&json!({"link_id": link_id, "institution": "erebor_mx_retail"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Wait (with a deadline) for its transactions, so data routes answer with real objects.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = json(
            http.get(format!("{gw}/v1/links/{link_id}/transactions?limit=1"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if page["data"].as_array().is_some_and(|d| !d.is_empty()) {
            return link_id;
        }
        assert!(Instant::now() < deadline, "no transactions synced in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    if !require(
        "schemathesis",
        has_command("st", &["--version"]),
        "pip install schemathesis==4.32.5",
    ) {
        return;
    }
    let stack = Stack::start().await.unwrap();
    let http = reqwest::Client::new();
    let login = json(
        http.post(format!("{}/v1/dev/login", stack.gateway_url))
            .json(&json!({"user": "schemathesis"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_owned();
    let link_id = linked_account(&http, &stack, &token).await;
    let report = tempfile::tempdir().unwrap();
    let junit = report.path().join("junit.xml");
    let schema = format!("{}/openapi.json", stack.gateway_url);
    let auth = format!("Authorization: Bearer {token}");
    let junit_arg = junit.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = run(
        "st",
        &[
            "--config-file",
            "schemathesis.toml",
            "run",
            &schema,
            "--header",
            &auth,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            // The event stream never ends; it is covered by the gateway's and browser tests.
            "--exclude-path",
            "/v1/links/{id}/events",
            "--max-examples",
            "40",
            "--seed",
            "20261127",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            &junit_arg,
        ],
        &crate_dir(),
        &[("E2E_LINK_ID", link_id.clone())],
        Duration::from_secs(600),
    )
    .await;
    stack.stop().await;
    assert!(
        ok,
        "schemathesis found problems:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // It really ran: operations were tested and cases generated.
    let summary = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.contains(" generated, "))
        .unwrap_or_default();
    let generated: u64 = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated > 200, "too few test cases: {summary}\n{stdout}");
    assert!(junit.exists(), "no JUnit report:\n{stdout}");
}
