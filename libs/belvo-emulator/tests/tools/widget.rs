//! The Connect Widget script in headless Chromium: a real page (on its own origin) loads
//! `/belvo-widget-1-stable.js` from the emulator, creates a link through MFA, shows Belvo's
//! errors, exits, runs update mode, and the hosted widget redirects to `callback_urls`.

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use belvo_emulator::{Account, Config, Emulator};
use serde_json::{Value, json};

use crate::{has_command, node_modules_has, require, run_json, tests_dir};

const ID: &str = "widget-id";
const PW: &str = "widget-password";

async fn host_page(emulator: String) -> String {
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>ACME app</title>\
         <script src=\"{emulator}/belvo-widget-1-stable.js\" async></script></head>\
         <body><h1>ACME</h1><div id=\"belvo\"></div></body></html>"
    );
    let done = |name: &'static str| Html(format!("<!doctype html><p id=done>{name}</p>"));
    let app = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route("/success", get(move || async move { done("success") }))
        .route("/exit", get(move || async move { done("exit") }))
        .route("/event", get(move || async move { done("event") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn token(http: &reqwest::Client, base: &str, extra: Value) -> String {
    let mut body = json!({"id": ID, "password": PW, "scopes": "read_institutions,write_links,read_links",
        "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"], "stale_in": "365d",
        "widget": {"branding": {"company_name": "ACME", "company_icon": "https://acme.example/icon.svg",
            "company_logo": "https://acme.example/logo.svg", "company_terms_url": "https://acme.example/terms"}}});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        for (k, v) in e {
            match (b.get_mut(&k), v) {
                (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
    let r: Value = http
        .post(format!("{base}/api/token/"))
        .basic_auth(ID, Some(PW))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_in_headless_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !require("node", has_command("node", "--version"), "Node.js 20")
        || !require(
            "chromium",
            std::path::Path::new(&chromium).exists(),
            "apt-get install chromium",
        )
        || !require(
            "playwright-core",
            node_modules_has("playwright-core"),
            "npm ci in libs/belvo-emulator/tests",
        )
    {
        return;
    }
    let emu = Emulator::start(Config {
        accounts: vec![Account::new(ID, PW)],
        ..Config::for_tests()
    })
    .await
    .unwrap();
    let base = emu.url().to_owned();
    let page = host_page(base.clone()).await;
    let http = reqwest::Client::new();
    let existing: Value = http
        .post(format!("{base}/api/links/"))
        .basic_auth(ID, Some(PW))
        .json(&json!({"institution": "gringotts_mx_retail", "username": "to_update", "password": "old"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let existing_id = existing["id"].as_str().unwrap().to_owned();
    emu.control()
        .set_link_status(
            existing_id.parse().unwrap(),
            belvo_emulator::LinkStatus::Invalid,
            false,
        )
        .unwrap();
    let callbacks = json!({"widget": {"callback_urls": {
        "success": format!("{page}/success"), "exit": format!("{page}/exit"), "event": format!("{page}/event")}}});
    let tokens = json!({
        "create": token(&http, &base, json!({})).await,
        "error": token(&http, &base, json!({})).await,
        "update": token(&http, &base, json!({"link_id": existing_id})).await,
        "hosted": token(&http, &base, callbacks.clone()).await,
        "hosted_exit": token(&http, &base, callbacks).await,
    });
    let screenshot = std::env::temp_dir().join(format!("belvo-widget-{}.png", std::process::id()));
    let input = json!({"page": page, "emulator": base, "tokens": tokens,
        "screenshot": screenshot.to_string_lossy()});
    let out = run_json(
        "node",
        &tests_dir().join("widget/widget.mjs"),
        &[("WIDGET_TEST", input.to_string()), ("CHROMIUM", chromium)],
        Duration::from_secs(120),
    )
    .await;
    assert!(out.get("failure").is_none(), "widget run failed: {out:#}");
    assert!(out.get("page_errors").is_none(), "page errors: {out:#}");

    // 1. MFA creation: callback(link_id, institution), link valid with the widget's settings.
    let created = &out["create"];
    let link_id = created["callback"][0].as_str().unwrap();
    assert_eq!(created["callback"][1], "gotham_mx_business");
    let link = emu.control().link(link_id.parse().unwrap()).unwrap();
    assert_eq!(link["status"], "valid");
    assert_eq!(link["external_id"], "widget-user-1");
    assert_eq!(
        link["fetch_resources"],
        json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS"])
    );
    assert!(
        out["mfa_wrong_token_text"]
            .as_str()
            .unwrap()
            .contains("MFA token")
    );
    let pages: Vec<&str> = created["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventName"] == "PAGE_LOAD")
        .map(|e| e["metadata"]["page"].as_str().unwrap())
        .collect();
    assert!(
        pages.contains(&"/institutions") && pages.contains(&"/mfa") && pages.contains(&"/success"),
        "{pages:?}"
    );
    assert!(screenshot.exists());
    let _ = std::fs::remove_file(&screenshot);
    // 2. The token is spent by the link it created.
    assert!(
        out["reused_token_error"]
            .as_str()
            .unwrap()
            .contains("access token")
    );
    // 3. Wrong credentials: error shown, ERROR event, onExit with the last error.
    assert_eq!(
        out["listed"],
        json!(["erebor_mx_retail", "gringotts_mx_retail"])
    );
    assert!(
        out["login_error_text"]
            .as_str()
            .unwrap()
            .contains("Invalid credentials")
    );
    let err = &out["error"];
    let ev = err["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventName"] == "ERROR")
        .expect("an ERROR event");
    assert_eq!(ev["meta_data"]["error_code"], "login_error");
    assert_eq!(ev["meta_data"]["institution_name"], "erebor_mx_retail");
    assert_eq!(err["exit"]["last_encountered_error"]["code"], "login_error");
    assert_eq!(
        err["exit"]["meta_data"]["institution_name"],
        "erebor_mx_retail"
    );
    assert_eq!(err["exit"]["meta_data"]["step"], "login");
    assert!(err["callback"].is_null());
    // 4. Update mode: same link, valid again.
    assert_eq!(out["update_has_username"], false);
    assert_eq!(out["update"]["callback"][0], existing_id.as_str());
    let updated = emu.control().link(existing_id.parse().unwrap()).unwrap();
    assert_eq!(updated["status"], "valid");
    // 5-7. Hosted widget redirects.
    let success = url::Url::parse(out["hosted_success_url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = success.query_pairs().into_owned().collect();
    assert_eq!(q["institution"], "erebor_mx_retail");
    let hosted = emu.control().link(q["link"].parse().unwrap()).unwrap();
    assert_eq!(hosted["external_id"], "hosted-user");
    let event = url::Url::parse(out["hosted_error_url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = event.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "ACCESS_TOKEN_NOT_VALID");
    let exit = url::Url::parse(out["hosted_exit_url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = exit.query_pairs().into_owned().collect();
    assert_eq!(q["meta_data_step"], "abandon-survey");
    emu.shutdown().await;
}
