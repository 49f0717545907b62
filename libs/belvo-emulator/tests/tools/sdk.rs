//! Fidelity shown by Belvo's own clients: `belvo-python` (PyPI) and `belvo` (npm) log in, list
//! institutions, register a link through the MFA resume, create widget tokens, list and
//! retrieve every resource the platform syncs (with retrieve windows and the fiscal shapes),
//! and refresh a link, whose webhooks the control handle then shows.

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

/// What both SDKs must have seen: every resource the platform syncs, listed and retrieved
/// with its window, the fiscal shapes, the token rules, and a refresh answered by its webhooks.
async fn check_common(out: &Value, emu: &EmulatorHandle) {
    assert_eq!(out["bad_login_refused"], true, "{out:#}");
    let names = out["institutions"].as_array().unwrap();
    for n in [
        "erebor_mx_retail",
        "gotham_mx_business",
        "tatooine_mx_fiscal",
    ] {
        assert!(names.contains(&json!(n)), "{n} not listed: {names:?}");
    }
    // `resources__allin` with three values: the banks, and nothing else.
    let allin = out["allin_institutions"].as_array().unwrap();
    assert!(allin.contains(&json!("erebor_mx_retail")), "{allin:?}");
    assert!(!allin.contains(&json!("tatooine_mx_fiscal")), "{allin:?}");
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
    // The SDKs' bare token request lacks what Belvo's 1.223.0 schemas require.
    assert_eq!(
        out["bare_token_error"],
        json!({"code": "required", "field": "fetch_resources"})
    );
    assert_eq!(out["token_keys"], json!(["access", "refresh"]));
    assert_eq!(out["update_token_ok"], true);
    assert!(out["links_listed"].as_array().unwrap().contains(&json!(id)));
    assert_eq!(out["detail"], id);

    // Banking.
    assert_eq!(out["accounts"], 4);
    // 120 transactions over 12 sandbox pages of 10, followed through `next`.
    assert_eq!(out["transactions"], 120);
    assert_eq!(out["transaction_ids_unique"], true);
    assert_eq!(out["first_transaction"], true);
    assert_eq!(out["account_type_filtered"], 40, "{out:#}");
    assert_eq!(out["account_type_only"], true);
    // data-service's incremental pull: every object created at or after the watermark.
    assert_eq!(out["created_at_gte_watermark"], 120, "{out:#}");
    assert_eq!(out["created_at_gt_watermark"], 0, "{out:#}");
    assert!(out["retrieved"].as_u64().unwrap() > 0);
    assert_eq!(out["retrieved_in_window"], true);
    assert_eq!(
        out["future_date_to"],
        json!({"code": "invalid", "field": "date_to"})
    );
    assert_eq!(out["balances_listed"], 90);
    assert_eq!(out["balances_retrieved"], 30, "{out:#}");
    assert_eq!(out["balances_in_window"], true);
    assert_eq!(out["owners"], 1);
    assert_eq!(out["owners_listed"], 1);
    assert_eq!(out["incomes_object"], true);
    assert_eq!(out["incomes_listed"], 1);
    assert_eq!(out["recurring_expenses"], 3);
    assert_eq!(out["recurring_expenses_listed"], 3);
    assert_eq!(out["risk_insights_object"], true);
    assert_eq!(out["risk_insights_listed"], 1);

    // Employment.
    assert_eq!(out["employment_records"], 1);
    assert_eq!(out["employment_records_listed"], 1);

    // Fiscal: a person's invoices, the four tax-return shapes, status, compliance, retentions.
    assert_eq!(out["invoices"], 40);
    assert!(out["invoices_retrieved"].as_u64().unwrap() > 0);
    assert_eq!(out["invoices_inflow_only"], true);
    assert_eq!(out["tax_returns_listed"], 15, "{out:#}");
    assert_eq!(out["tax_returns_monthly_listed"], 12);
    assert_eq!(out["tax_returns_yearly_years"], json!([2024, 2025]));
    assert_eq!(out["tax_returns_yearly_personal"], true);
    assert_eq!(
        out["tax_returns_monthly_periods"],
        json!(["Mayo", "Abril", "Marzo", "Febrero", "Enero"])
    );
    assert_eq!(out["tax_returns_monthly_personal"], true);
    // 2025: one yearly return and the monthly ones of June to December.
    assert_eq!(out["tax_returns_by_ejercicio"], 8);
    assert_eq!(out["tax_status_object"], true);
    assert_eq!(out["tax_status_listed"], 1);
    assert_eq!(out["tax_compliance_object"], true);
    assert_eq!(out["tax_compliance_listed"], 1);
    assert_eq!(out["tax_retentions_listed"], 6);
    assert_eq!(out["tax_retentions_inflow"], 3);
    assert_eq!(out["tax_retentions_outflow"], 3);
    assert_eq!(out["tax_retentions_sides"], true);
    assert_eq!(out["tax_retentions_narrow"], 1);
    assert_eq!(out["business_yearly"], 3);
    assert_eq!(out["business_monthly"], 12);
    assert_eq!(out["deleted"], true);

    // The refresh: one `historical_update` per resource refreshed, carrying its request id,
    // with the counts the lists served.
    let rid = out["refresh_request_id"].as_str().unwrap().to_owned();
    let hooks = emu
        .control()
        .wait_for_webhooks(Duration::from_secs(10), |w| {
            w.iter()
                .filter(|r| r.event["request_id"] == rid.as_str())
                .count()
                >= 2
        })
        .await
        .expect("the refresh's webhooks");
    let mine: Vec<&Value> = hooks
        .iter()
        .map(|r| &r.event)
        .filter(|e| e["request_id"] == rid.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    for e in &mine {
        assert_eq!(e["webhook_code"], "historical_update");
        assert_eq!(e["process_type"], "historical_update");
        assert_eq!(e["link_id"], id);
    }
    let of = |t: &str| mine.iter().find(|e| e["webhook_type"] == t).unwrap();
    assert_eq!(of("ACCOUNTS")["data"]["total_accounts"], out["accounts"]);
    assert_eq!(
        of("TRANSACTIONS")["data"]["total_transactions"],
        out["transactions"]
    );
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
    check_common(&out, &emu).await;
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
    check_common(&out, &emu).await;
    assert_eq!(out["register_status"], 428);
    assert_eq!(out["wrong_token_status"], 428);
    emu.shutdown().await;
}
