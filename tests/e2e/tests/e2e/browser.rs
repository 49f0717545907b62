//! The web app in headless Chromium against the whole stack: add a bank account (no MFA) and
//! see its data, its charts (their figures equal to sums of the stored transactions) and when
//! it was last refreshed, a transaction Belvo adds later put in the open list through
//! `/v1/links/{id}/changes`, one with MFA, a stale badge, wrong credentials, Belvo's
//! `token_required` → Reconnect (update mode) → valid, delete. `web.mjs` drives the page and reports what it saw; the
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
            "charts",
            "live change",
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
    // 1b. Charts: what they show (read from their tables, and from the drawn bars and points)
    // equals what the test added up from every stored transaction.
    let shown = &out["charts_shown"];
    assert_eq!(shown, &out["charts_expected"], "{out:#}");
    assert_eq!(
        &out["chart_marks"], shown,
        "the marks agree with the tables"
    );
    for chart in ["spending", "flows", "balance"] {
        assert!(
            shown[chart].as_object().is_some_and(|m| !m.is_empty()),
            "{chart} has figures: {out:#}"
        );
    }
    assert_eq!(out["chart_records"], out["chart_transactions"], "{out:#}");
    assert!(out["chart_transactions"].as_u64().unwrap() > 25, "{out:#}");
    // Accessible: captioned, every bar and point labelled, one tab stop per chart, a table.
    let figures = out["chart_a11y"].as_array().unwrap();
    assert_eq!(figures.len(), 3, "{out:#}");
    for figure in figures {
        assert_eq!(figure["labelled_by_caption"], true, "{figure}");
        assert!(figure["marks"].as_u64().unwrap() > 0, "{figure}");
        assert_eq!(figure["labelled_marks"], figure["marks"], "{figure}");
        assert_eq!(figure["tab_stops"], 1, "{figure}");
        assert!(figure["table_rows"].as_u64().unwrap() > 0, "{figure}");
    }
    let keyboard = &out["chart_keyboard"];
    assert_eq!(
        keyboard["moved"], true,
        "arrow keys move between bars: {out:#}"
    );
    assert_eq!(keyboard["readout"], keyboard["after"], "{out:#}");
    assert!(keyboard["after"].as_str().unwrap().contains('$'), "{out:#}");
    assert_eq!(out["chart_keyboard_flows"], "outflow", "{out:#}");
    // Last refreshed: the newest successful pull; not stale.
    assert!(out["fresh_expected"].is_string(), "{out:#}");
    assert_eq!(out["fresh_shown"], out["fresh_expected"], "{out:#}");
    assert!(
        out["fresh_text"].as_str().unwrap().contains("Refreshed"),
        "{out:#}"
    );
    assert_eq!(out["first_stale_badges"], 0, "{out:#}");
    // 1c. A transaction Belvo added came into the open list through `/changes`, at the top,
    // and the list was not read again.
    assert_eq!(out["live_rows_before"], 25, "{out:#}");
    assert_eq!(out["live_rows_after"], 26, "{out:#}");
    assert_eq!(out["live_first_row_is_new"], true, "{out:#}");
    assert!(
        out["live_row_text"]
            .as_str()
            .unwrap()
            .contains("E2E live change"),
        "{out:#}"
    );
    assert!(
        out["live_requests"]["changes"].as_u64().unwrap() >= 1,
        "{out:#}"
    );
    assert_eq!(out["live_requests"]["list_reads"], 0, "{out:#}");
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
    assert_eq!(
        out["fiscal_charts"], false,
        "no charts without transactions"
    );
    assert_eq!(out["links_after_error"], 3);
    // The link the watchdog calls stale has the badge, and only it.
    assert_eq!(out["stale_badges"], json!([out["stale_link"]]), "{out:#}");
    assert_eq!(out["stale_badge_text"], "Out of date");
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
    assert_eq!(out["spanish_stale"], "Desactualizada");
    assert!(
        out["spanish_charts"]
            .as_array()
            .unwrap()
            .contains(&json!("Gastos por categoría")),
        "{out:#}"
    );
    // 5. Deleted: gone from the list; the others stay.
    let left = out["links_after_delete"].as_array().unwrap();
    assert_eq!(left.len(), 2, "{out:#}");
    assert!(left.contains(&out["first_link"]), "{out:#}");
    assert!(!left.contains(&out["deleted"]), "{out:#}");
}
