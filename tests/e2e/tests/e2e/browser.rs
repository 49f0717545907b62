//! The web app in headless Chromium against the whole stack: add a bank account (no MFA) and
//! see its data, one with MFA, wrong credentials, Belvo's `token_required` → Reconnect
//! (update mode) → valid, delete. `web.mjs` drives the page and reports what it saw; the
//! assertions are here.

use std::path::Path;
use std::time::Duration;

use e2e_tests::Stack;
use serde_json::json;

use crate::{crate_dir, has_command, last_json, require, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_web_app_links_accounts_and_shows_their_data() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !require("node", has_command("node", &["--version"]), "Node.js 20")
        || !require(
            "chromium",
            Path::new(&chromium).exists(),
            "apt-get install chromium",
        )
        || !require(
            "playwright-core",
            crate_dir()
                .join("node_modules/playwright-core/package.json")
                .exists(),
            "npm ci in tests/e2e",
        )
    {
        return;
    }
    let stack = Stack::start().await.unwrap();
    let input = json!({"gateway": stack.gateway_url, "emulator": stack.emulator_url});
    let (ok, stdout, stderr) = run(
        "node",
        &["web.mjs"],
        &crate_dir(),
        &[("E2E_CONFIG", input.to_string()), ("CHROMIUM", chromium)],
        Duration::from_secs(240),
    )
    .await;
    stack.stop().await;
    assert!(ok, "web.mjs failed:\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let out = last_json(&stdout, &stderr);
    assert!(out.get("failure").is_none(), "a step failed: {out:#}");
    assert!(out.get("page_errors").is_none(), "page errors: {out:#}");
    assert_eq!(out["csp_violations"], json!([]), "{out:#}");
    assert_eq!(
        out["steps"],
        json!([
            "login",
            "first link",
            "mfa link",
            "fiscal link",
            "wrong credentials",
            "reconnect",
            "delete"
        ])
    );

    // Sign-in: focus starts in the form; the bearer token lives in sessionStorage.
    assert_eq!(out["login_focused"], "login-user");
    assert_eq!(out["token_in_session_storage"], true);
    // 1. The first link's data: accounts, transactions in pages, filters, owners, progress.
    assert!(out["accounts_rows"].as_u64().unwrap() >= 1, "{out:#}");
    assert_eq!(out["transactions_rows"], 25, "a page of 25: {out:#}");
    assert_eq!(out["transactions_after_more"], 50, "{out:#}");
    assert!(out["outflow_rows"].as_u64().unwrap() >= 1, "{out:#}");
    assert_eq!(
        out["outflow_inflow_cells"], 0,
        "the type filter held: {out:#}"
    );
    assert_eq!(
        out["tab_after_arrow"], "balances",
        "arrow keys move between tabs"
    );
    assert_eq!(out["owners_rows"], 1, "{out:#}");
    assert_eq!(out["announcer_has_role"], "polite");
    let synced: Vec<&str> = out["sync_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i[1] == "succeeded")
        .map(|i| i[0].as_str().unwrap())
        .collect();
    assert!(
        synced.contains(&"accounts") && synced.contains(&"transactions"),
        "{out:#}"
    );
    // 2. MFA: a second valid link.
    assert_eq!(out["links_after_mfa"], 2);
    // 2b. Fiscal: invoices and tax status, under fiscal tabs.
    assert!(out["invoices_rows"].as_u64().unwrap() >= 1, "{out:#}");
    assert!(out["tax_status_rows"].as_u64().unwrap() >= 1, "{out:#}");
    for tab in [
        "invoices",
        "tax-returns",
        "tax-status",
        "tax-compliance-status",
        "tax-retentions",
    ] {
        assert!(
            out["fiscal_tabs"].as_array().unwrap().contains(&json!(tab)),
            "{out:#}"
        );
    }
    // 3. Wrong credentials: Belvo's message in the widget and in the app; no new link.
    assert!(
        out["login_error_text"]
            .as_str()
            .unwrap()
            .contains("Invalid credentials"),
        "{out:#}"
    );
    assert!(
        out["exit_announcement"]
            .as_str()
            .unwrap()
            .contains("Invalid credentials provided"),
        "{out:#}"
    );
    assert_eq!(out["links_after_error"], 3);
    // 4. token_required shown live, then update mode (no username) made it valid again.
    assert!(
        out["needs_action_text"]
            .as_str()
            .unwrap()
            .contains("log in to"),
        "{out:#}"
    );
    assert_eq!(out["update_mode_has_username"], false);
    assert_eq!(out["reconnected"], true);
    // Spanish.
    assert!(
        out["spanish_add"]
            .as_str()
            .unwrap()
            .contains("Agregar una cuenta bancaria"),
        "{out:#}"
    );
    assert_eq!(out["html_lang"], "es");
    // 5. Deleted: gone from the list; the others stay.
    let left = out["links_after_delete"].as_array().unwrap();
    assert_eq!(left.len(), 2, "{out:#}");
    assert!(left.contains(&out["first_link"]), "{out:#}");
    assert!(!left.contains(&out["deleted"]), "{out:#}");
}
