//! Fidelity shown by Belvo's own clients: `belvo-python` (PyPI) and `belvo` (npm) log in, list
//! institutions, register a link through the MFA resume, create widget tokens, and list and
//! retrieve data from the emulator.

use std::time::Duration;

use belvo_emulator::{Account, Config, Emulator, EmulatorHandle};
use serde_json::{Value, json};

use crate::{has_command, node_modules_has, require, run_json, tests_dir};

const ID: &str = "sdk-id";
const PW: &str = "sdk-password";

async fn emulator() -> EmulatorHandle {
    Emulator::start(Config {
        accounts: vec![Account::new(ID, PW)],
        data_as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        delete_rate_per_minute: 0,
        ..Config::for_tests()
    })
    .await
    .unwrap()
}

fn env(emu: &EmulatorHandle) -> Vec<(&'static str, String)> {
    vec![
        ("BELVO_URL", emu.url().to_owned()),
        ("BELVO_SECRET_ID", ID.to_owned()),
        ("BELVO_SECRET_PASSWORD", PW.to_owned()),
    ]
}

/// What both SDKs must have seen.
fn check_common(out: &Value, emu: &EmulatorHandle) {
    assert_eq!(out["bad_login_refused"], true, "{out:#}");
    let names = out["institutions"].as_array().unwrap();
    for n in [
        "erebor_mx_retail",
        "gotham_mx_business",
        "tatooine_mx_fiscal",
    ] {
        assert!(names.contains(&json!(n)), "{n} not listed: {names:?}");
    }
    assert_eq!(out["register_code"], "token_required");
    let link = &out["link"];
    assert_eq!(link["status"], "valid", "{out:#}");
    let id = link["id"].as_str().unwrap();
    assert_eq!(
        emu.control().link(id.parse().unwrap()).unwrap()["status"],
        "valid"
    );
    assert_eq!(out["login_error"]["status"], 400);
    assert_eq!(out["login_error"]["code"], "login_error");
    assert_eq!(out["token_keys"], json!(["access", "refresh"]));
    assert_eq!(out["update_token_ok"], true);
    assert!(out["links_listed"].as_array().unwrap().contains(&json!(id)));
    assert_eq!(out["detail"], id);
    assert_eq!(out["accounts"], 4);
    // 120 transactions over 12 sandbox pages of 10, followed through `next`.
    assert_eq!(out["transactions"], 120);
    assert_eq!(out["transaction_ids_unique"], true);
    assert_eq!(out["first_transaction"], true);
    assert!(out["retrieved"].as_u64().unwrap() > 0);
    assert_eq!(out["owners"], 1);
    assert_eq!(out["invoices"], 40);
    assert_eq!(out["deleted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn belvo_python_sdk_drives_the_emulator() {
    let importable = std::process::Command::new("python3")
        .args(["-c", "import belvo.client"])
        .status()
        .is_ok_and(|s| s.success());
    if !require("belvo-python", importable, "pip install belvo-python") {
        return;
    }
    let emu = emulator().await;
    let out = run_json(
        "python3",
        &tests_dir().join("sdk/sdk_test.py"),
        &env(&emu),
        Duration::from_secs(120),
    )
    .await;
    check_common(&out, &emu);
    assert_eq!(out["wrong_token_code"], "token_required");
    assert_eq!(out["inflow_only"], true);
    assert_eq!(out["incomes_object"], true);
    assert!(
        out["mx_banks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.as_str().unwrap().contains("_mx_"))
    );
    assert!(out["invoices_retrieved"].as_u64().unwrap() > 0);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn belvo_node_sdk_drives_the_emulator() {
    if !require("node", has_command("node", "--version"), "Node.js 20")
        || !require(
            "belvo (npm)",
            node_modules_has("belvo"),
            "npm ci in libs/belvo-emulator/tests",
        )
    {
        return;
    }
    let emu = emulator().await;
    let out = run_json(
        "node",
        &tests_dir().join("sdk/sdk_test.mjs"),
        &env(&emu),
        Duration::from_secs(120),
    )
    .await;
    check_common(&out, &emu);
    assert_eq!(out["register_status"], 428);
    assert_eq!(out["wrong_token_status"], 428);
    emu.shutdown().await;
}
