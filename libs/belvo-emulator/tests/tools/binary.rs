//! The `belvo-emulator` binary: flags (the firewall's included), start-up on port 0, serving,
//! clean stop on SIGTERM, and a refused configuration exiting non-zero before binding.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_belvo-emulator");

/// Starts the binary with `args` (output to stdout, quietly otherwise) and waits for the URL
/// it logs once it listens.
async fn start(args: &[&str]) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("url=").nth(1) {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_owned();
            }
        }
        panic!("no listening line");
    })
    .await
    .expect("the binary logs its URL");
    (child, url)
}

#[tokio::test]
async fn binary_serves_with_flags_and_stops_on_sigterm() {
    let (mut child, url) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--mode",
        "production",
        "--account",
        "id=bin-id,password=bin-pw,webhook=http://127.0.0.1:9/hook,authorization=Bearer x",
        "--transactions",
        "250",
    ])
    .await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/links/"))
        .basic_auth("bin-id", Some("bin-pw"))
        .json(&serde_json::json!({"institution": "erebor_mx_retail", "username": "bin_user", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let link: serde_json::Value = r.json().await.unwrap();
    let page: serde_json::Value = http
        .get(format!(
            "{url}/api/transactions/?link={}",
            link["id"].as_str().unwrap()
        ))
        .basic_auth("bin-id", Some("bin-pw"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["count"], 250, "--transactions applies");
    assert_eq!(
        page["results"].as_array().unwrap().len(),
        100,
        "production paging"
    );
    let firewall: serde_json::Value = http
        .get(format!("{url}/_emulator/firewall"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &firewall["enabled"],
            &firewall["max_requests"],
            &firewall["window_secs"]
        ),
        (&json!(true), &json!(80), &json!(30)),
        "Belvo's firewall is on by default in production mode: {firewall}"
    );
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within its drain time")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn binary_firewall_flags_set_the_limit_and_zero_turns_it_off() {
    let cases: [(&[&str], _); 3] = [
        (
            &["--firewall-requests", "5", "--firewall-window-secs", "10"],
            json!({"enabled": true, "max_requests": 5, "window_secs": 10}),
        ),
        (
            &["--firewall-requests", "0", "--firewall-window-secs", "30"],
            json!({"enabled": false, "max_requests": 0, "window_secs": 0}),
        ),
        // Sandbox mode (the default): off unless asked for.
        (
            &[],
            json!({"enabled": false, "max_requests": 0, "window_secs": 0}),
        ),
    ];
    for (flags, expected) in cases {
        let (mut child, url) = start(&[&["--listen", "127.0.0.1:0"], flags].concat()).await;
        let mut v: serde_json::Value = reqwest::get(format!("{url}/_emulator/firewall"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = v.as_object_mut().unwrap();
        v.retain(|k, _| ["enabled", "max_requests", "window_secs"].contains(&k.as_str()));
        assert_eq!(serde_json::Value::Object(v.clone()), expected, "{flags:?}");
        child.kill().await.unwrap();
    }
}

#[tokio::test]
async fn binary_refuses_a_bad_configuration() {
    let out = tokio::process::Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--account", "id=only-an-id"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("empty secret id or password"), "{text}");
}
