//! Webhooks, redelivery, refresh, faults, data edits and scale, through the control handle
//! and the HTTP control API.

use std::time::Duration;

use belvo_emulator::{Account, Config, FaultSpec, Scale, WebhookTrigger};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ID, PASSWORD, Receiver, WEBHOOK_AUTH, start, start_with};

fn with_hook(url: &str) -> Config {
    Config {
        accounts: vec![Account::new(ID, PASSWORD).with_webhook(url, Some(WEBHOOK_AUTH.to_owned()))],
        ..common::config()
    }
}

#[tokio::test]
async fn historical_updates_match_the_api_and_carry_authorization() {
    let hook = Receiver::start(0).await;
    let emu = start_with(with_hook(&hook.url)).await;
    let (s, link) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "username": "hook_user", "password": "pw",
                   "external_id": "user-123", "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = link["id"].as_str().unwrap();
    let got = hook.wait(|g| g.len() >= 3).await;
    assert_eq!(got.len(), 3);
    for r in &got {
        assert_eq!(r.authorization.as_deref(), Some(WEBHOOK_AUTH));
        let b = &r.body;
        assert_eq!(b["webhook_code"], "historical_update");
        assert_eq!(b["link_id"], id);
        assert_eq!(b["external_id"], "user-123");
        assert!(common::is_request_id(b["webhook_id"].as_str().unwrap()));
    }
    let tx = got
        .iter()
        .find(|r| r.body["webhook_type"] == "TRANSACTIONS")
        .unwrap();
    let all = emu
        .all(&format!("/api/transactions/?link={id}&page_size=1000"))
        .await;
    let d = &tx.body["data"];
    assert_eq!(d["total_transactions"], all.len());
    let inflow = all.iter().filter(|t| t["type"] == "INFLOW").count();
    assert_eq!(d["total_inflow_transactions"], inflow);
    assert_eq!(d["total_outflow_transactions"], all.len() - inflow);
    assert_eq!(d["last_transaction_date"], all[0]["value_date"]);
    assert_eq!(
        d["first_transaction_date"],
        all[all.len() - 1]["value_date"]
    );
    let acc = got
        .iter()
        .find(|r| r.body["webhook_type"] == "ACCOUNTS")
        .unwrap();
    let (_, accounts) = emu.get(&format!("/api/accounts/?link={id}")).await;
    assert_eq!(acc.body["data"]["total_accounts"], accounts["count"]);
    let rec = emu
        .handle
        .control()
        .wait_for_webhooks(Duration::from_secs(5), |w| {
            w.len() == 3 && w.iter().all(|r| r.state == "delivered")
        })
        .await
        .expect("recorded as delivered");
    assert!(rec.iter().all(|r| r.attempts.len() == 1));
}

#[tokio::test]
async fn non_2xx_is_redelivered_with_every_attempt_recorded() {
    let hook = Receiver::start(2).await;
    let emu = start_with(with_hook(&hook.url)).await;
    let link = emu.link("erebor_mx_retail", "retry_user", "pw").await;
    let id: uuid::Uuid = link["id"].as_str().unwrap().parse().unwrap();
    emu.handle.control().clear_webhooks();
    emu.handle
        .control()
        .trigger_webhook(
            id,
            WebhookTrigger {
                webhook_type: "LINK".into(),
                webhook_code: "invalid_credentials".into(),
                data: None,
                process_type: None,
                request_id: None,
            },
        )
        .unwrap();
    let recs = emu
        .handle
        .control()
        .wait_for_webhooks(Duration::from_secs(10), |w| {
            w.iter()
                .any(|r| r.event["webhook_type"] == "LINK" && r.state == "delivered")
        })
        .await
        .expect("delivered after retries");
    let r = recs
        .iter()
        .find(|r| r.event["webhook_type"] == "LINK")
        .unwrap();
    assert_eq!(r.event["data"]["error_code"], "login_error");
    let statuses: Vec<Option<u16>> = r.attempts.iter().map(|a| a.status).collect();
    // The historical updates of the link creation may have taken the receiver's failures.
    assert!(statuses.last() == Some(&Some(200)), "{statuses:?}");

    // A receiver that never answers 2xx gets the first attempt plus five redeliveries.
    let dead = Receiver::start(100).await;
    let emu = start_with(with_hook(&dead.url)).await;
    emu.link("erebor_mx_retail", "dead_user", "pw").await;
    let recs = emu
        .handle
        .control()
        .wait_for_webhooks(Duration::from_secs(10), |w| {
            !w.is_empty() && w.iter().all(|r| r.state == "failed")
        })
        .await
        .expect("all attempts fail");
    for r in recs {
        assert_eq!(r.attempts.len(), 6);
        assert!(r.attempts.iter().all(|a| a.status == Some(500)));
    }
}

/// `POST /api/links/{id}/refresh/`: Belvo answers 202 with a `request_id` and sends one
/// `historical_update` per resource refreshed (all the institution supports when the body names
/// none; two for tax returns), each carrying that `request_id` and the counts the lists serve.
/// The recurrent update (`new_*_available`) is Belvo's scheduled refresh, a control operation.
#[tokio::test]
async fn refresh_sends_historical_updates_tied_to_its_request_id() {
    let hook = Receiver::start(0).await;
    let emu = start_with(with_hook(&hook.url)).await;
    let link = emu.link("erebor_mx_retail", "refresh_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let uuid: uuid::Uuid = id.parse().unwrap();
    hook.wait(|g| g.len() >= 3).await;
    let added = emu
        .handle
        .control()
        .add_objects(
            uuid,
            "transactions",
            vec![json!({"amount": 99.5, "description": "NEW ONE", "type": "INFLOW", "value_date": "2026-06-30"}),
                 json!({"amount": 12.0, "description": "NEW TWO"})],
        )
        .unwrap();
    assert_eq!(added.len(), 2);
    let rid = emu.refresh_accepted(id, json!({})).await;
    assert!(common::is_request_id(&rid));
    let bank = [
        "ACCOUNTS",
        "BALANCES",
        "INCOMES",
        "OWNERS",
        "RECURRING_EXPENSES",
        "RISK_INSIGHTS",
        "TRANSACTIONS",
    ];
    let of_request = |g: &[common::Received], rid: &str| -> Vec<Value> {
        g.iter()
            .filter(|r| r.body["request_id"] == rid)
            .map(|r| r.body.clone())
            .collect()
    };
    let got = hook.wait(|g| of_request(g, &rid).len() >= bank.len()).await;
    let mine = of_request(&got, &rid);
    let mut types: Vec<&str> = mine
        .iter()
        .map(|e| e["webhook_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, bank);
    for e in &mine {
        assert_eq!(e["webhook_code"], "historical_update");
        assert_eq!(e["process_type"], "historical_update");
        assert_eq!(e["link_id"], id);
    }
    let data = |t: &str| mine.iter().find(|e| e["webhook_type"] == t).unwrap()["data"].clone();
    let (_, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(page["count"], 122);
    assert_eq!(page["results"][0]["description"], "NEW ONE");
    assert_eq!(data("TRANSACTIONS")["total_transactions"], 122);
    assert_eq!(data("ACCOUNTS")["total_accounts"], 4);
    assert_eq!(data("BALANCES")["total_balances"], 90);
    assert!(
        !got.iter()
            .any(|r| r.body["webhook_code"].as_str().unwrap().starts_with("new_")),
        "a refresh is a historical update"
    );

    // The cool-down, then a refresh of one named resource.
    let (s, e) = emu.refresh(id, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e[0]["code"], "link_refreshed");
    emu.handle.control().clear_refresh_cooldown(uuid).unwrap();
    let (s, e) = emu
        .refresh(id, json!({"fetch_resources": ["INVOICES"]}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "fetch_resources");
    let rid2 = emu
        .refresh_accepted(id, json!({"fetch_resources": ["TRANSACTIONS"]}))
        .await;
    let recs = emu
        .handle
        .control()
        .wait_for_webhooks(Duration::from_secs(5), |w| {
            w.iter().any(|r| r.event["request_id"] == rid2.as_str())
        })
        .await
        .expect("the second refresh's webhook");
    let second: Vec<_> = recs
        .iter()
        .filter(|r| r.event["request_id"] == rid2.as_str())
        .collect();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event["webhook_type"], "TRANSACTIONS");

    // A fiscal link's tax returns: one historical update per type.
    let fiscal = emu.link("tatooine_mx_fiscal", "PFIS010101000", "pw").await;
    let fid = fiscal["id"].as_str().unwrap();
    let rid3 = emu
        .refresh_accepted(fid, json!({"fetch_resources": ["TAX_RETURNS"]}))
        .await;
    let got = hook.wait(|g| of_request(g, &rid3).len() >= 2).await;
    let mut kinds: Vec<(String, u64)> = of_request(&got, &rid3)
        .iter()
        .map(|e| {
            (
                e["data"]["type"].as_str().unwrap().to_owned(),
                e["data"]["total_tax_returns"].as_u64().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("monthly".to_owned(), 12), ("yearly".to_owned(), 3)]
    );

    // Belvo's scheduled (recurrent) refresh: `new_*_available` for what was added since.
    emu.handle
        .control()
        .add_objects(uuid, "transactions", vec![json!({"description": "LATER"})])
        .unwrap();
    let sent = emu.handle.control().recurrent_refresh(uuid).unwrap();
    assert_eq!(sent.len(), 1);
    let got = hook
        .wait(|g| {
            g.iter()
                .any(|r| r.body["webhook_code"] == "new_transactions_available")
        })
        .await;
    let n = got
        .iter()
        .find(|r| r.body["webhook_code"] == "new_transactions_available")
        .unwrap();
    assert_eq!(n.body["data"]["new_transactions"], 1);
    assert_eq!(n.body["process_type"], "recurrent_update");
    assert!(n.body["request_id"].is_null());
    assert!(
        emu.handle
            .control()
            .recurrent_refresh(uuid)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn async_retrieve_answers_202_and_webhook_carries_its_request_id() {
    let hook = Receiver::start(0).await;
    let emu = start_with(with_hook(&hook.url)).await;
    let link = emu.link("erebor_mx_retail", "async_user", "pw").await;
    let r = emu
        .http
        .post(emu.url("/api/transactions/"))
        .basic_auth(ID, Some(PASSWORD))
        .header("X-Belvo-Request-Mode", "async")
        .json(&json!({"link": link["id"], "date_from": "2026-01-01", "date_to": "2026-06-30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    let rid = v["request_id"].as_str().unwrap().to_owned();
    hook.wait(|g| g.iter().any(|r| r.body["request_id"] == rid.as_str()))
        .await;
    // Upper-case ASYNC is synchronous, as Belvo documents.
    let r = emu
        .http
        .post(emu.url("/api/transactions/"))
        .basic_auth(ID, Some(PASSWORD))
        .header("X-Belvo-Request-Mode", "ASYNC")
        .json(&json!({"link": link["id"], "date_from": "2026-01-01", "date_to": "2026-06-30"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn faults_by_path_count_and_kind() {
    let emu = start().await;
    let ctl = emu.handle.control();
    let spec = |v: Value| -> FaultSpec { serde_json::from_value(v).unwrap() };
    ctl.add_fault(spec(json!({"path": "/api/institutions/", "kind": "status", "status": 429, "retry_after": 7, "count": 1})));
    let r = emu
        .http
        .get(emu.url("/api/institutions/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    let (s, _) = emu.get("/api/institutions/").await;
    assert_eq!(s, StatusCode::OK, "count mode fires once");

    ctl.add_fault(spec(
        json!({"path": "/api/links/", "kind": "status", "status": 503, "count": 1}),
    ));
    let r = emu
        .http
        .get(emu.url("/api/links/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_none());

    ctl.add_fault(spec(
        json!({"path": "/api/*", "kind": "firewall", "count": 1}),
    ));
    let r = emu
        .http
        .get(emu.url("/api/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("openresty"));

    ctl.add_fault(spec(json!({"path": "/api/", "kind": "drop", "count": 1})));
    let e = emu
        .http
        .get(emu.url("/api/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await;
    assert!(e.is_err(), "dropped connection is an error");

    ctl.add_fault(spec(
        json!({"path": "/api/institutions/", "kind": "truncated", "count": 1}),
    ));
    let r = emu
        .http
        .get(emu.url("/api/institutions/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.is_err(), "truncated body fails to read");

    ctl.add_fault(spec(
        json!({"path": "/api/institutions/", "kind": "malformed", "count": 1}),
    ));
    let r = emu
        .http
        .get(emu.url("/api/institutions/"))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.json::<Value>().await.is_err(),
        "malformed body is not JSON"
    );

    ctl.add_fault(spec(
        json!({"path": "/api/", "kind": "latency", "ms": 150, "count": 1}),
    ));
    let t = std::time::Instant::now();
    let (s, _) = emu.get("/api/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Over HTTP: install a 408 for one path, list it, and see it recorded in the request log.
    let r = emu
        .http
        .post(emu.url("/_emulator/faults"))
        .json(&json!({"path": "/api/owners/", "kind": "status", "status": 408}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, e) = emu.get("/api/owners/").await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(e[0]["code"], "request_timeout");
    let list: Value = emu
        .http
        .get(emu.url("/_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["fired"], 1);
    let r = emu
        .http
        .delete(emu.url("/_emulator/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = emu.get("/api/owners/").await;
    assert_eq!(s, StatusCode::OK);
    let reqs: Value = emu
        .http
        .get(emu.url("/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let faulted: Vec<&Value> = reqs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["fault"].is_string())
        .collect();
    assert!(faulted.len() >= 8, "{faulted:?}");
    assert!(
        faulted
            .iter()
            .any(|r| r["fault"] == "drop" && r["status"] == 0)
    );
}

#[tokio::test]
async fn control_api_edits_data_and_status_over_http() {
    let hook = Receiver::start(0).await;
    let emu = start_with(with_hook(&hook.url)).await;
    let link = emu.link("erebor_mx_retail", "edit_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let ctl = |p: &str| emu.url(&format!("/_emulator/links/{id}{p}"));
    let r = emu
        .http
        .post(ctl("/data/transactions"))
        .json(&json!({"items": [{"amount": 1.23, "description": "ADDED"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let added: Value = r.json().await.unwrap();
    let added_id = added[0]["id"].as_str().unwrap().to_owned();
    let (_, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(page["count"], 121);
    let target = page["results"][3]["id"].as_str().unwrap().to_owned();
    let r = emu
        .http
        .patch(ctl(&format!("/data/transactions/{target}")))
        .json(&json!({"amount": 4242.0, "status": "PENDING"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, t) = emu.get(&format!("/api/transactions/{target}/")).await;
    assert_eq!(t["amount"], 4242.0);
    let filtered = emu
        .all(&format!("/api/transactions/?link={id}&amount=4242"))
        .await;
    assert_eq!(filtered.len(), 1);
    let r = emu
        .http
        .delete(ctl(&format!("/data/transactions/{added_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = emu
        .http
        .delete(ctl(&format!("/data/transactions/{target}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(page["count"], 119);

    let r = emu
        .http
        .post(ctl("/status"))
        .json(&json!({"status": "token_required", "notify": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "token_required");
    let got = hook
        .wait(|g| g.iter().any(|r| r.body["webhook_code"] == "token_required"))
        .await;
    let w = got
        .iter()
        .find(|r| r.body["webhook_code"] == "token_required")
        .unwrap();
    assert_eq!(w.body["webhook_type"], "LINK");
    assert_eq!(w.body["data"]["status"], 428);

    let r = emu
        .http
        .post(ctl("/webhooks"))
        .json(&json!({"webhook_type": "LINK", "webhook_code": "link_deleted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    hook.wait(|g| g.iter().any(|r| r.body["webhook_code"] == "link_deleted"))
        .await;
    let hooks: Value = emu
        .http
        .get(emu.url("/_emulator/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(hooks.as_array().unwrap().len() >= 5);

    let r = emu
        .http
        .get(emu.url("/_emulator/links/00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, _) = emu
        .send(Method::GET, "/_emulator/health", Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn scale_reaches_a_million_with_cheap_deep_pages() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "scale_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let r = emu
        .http
        .put(emu.url(&format!("/_emulator/links/{id}/scale")))
        .json(&json!({"transactions": 1_000_000, "invoices": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, p) = emu
        .get(&format!(
            "/api/transactions/?link={id}&page_size=1000&page=1000"
        ))
        .await;
    assert_eq!(p["count"], 1_000_000);
    assert_eq!(p["results"].as_array().unwrap().len(), 1000);
    assert!(p["next"].is_null());
    let (_, p) = emu
        .get(&format!(
            "/api/transactions/?link={id}&value_date__range=2026-06-01,2026-06-30&page_size=1"
        ))
        .await;
    let c = p["count"].as_u64().unwrap();
    assert!((75_000..90_000).contains(&c), "{c}");
    // Deep detail lookups decode the index from the id.
    let (_, p) = emu
        .get(&format!(
            "/api/transactions/?link={id}&page_size=1&page=777777"
        ))
        .await;
    let tid = p["results"][0]["id"].as_str().unwrap();
    let (s, t) = emu.get(&format!("/api/transactions/{tid}/")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t, p["results"][0]);
    emu.handle.control().set_default_scale(Scale {
        transactions: 5,
        invoices: 5,
    });
    let small = emu.link("erebor_mx_retail", "small_user", "pw").await;
    let (_, p) = emu
        .get(&format!(
            "/api/transactions/?link={}",
            small["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p["count"], 5);
}

#[tokio::test]
async fn accounts_are_isolated() {
    let emu = start_with(Config {
        accounts: vec![Account::new(ID, PASSWORD), Account::new("other", "secret")],
        ..common::config()
    })
    .await;
    let link = emu.link("erebor_mx_retail", "mine", "pw").await;
    let r = emu
        .http
        .get(emu.url(&format!("/api/links/{}/", link["id"].as_str().unwrap())))
        .basic_auth("other", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = emu
        .http
        .get(emu.url("/api/links/"))
        .basic_auth("other", Some("secret"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["count"], 0);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = start().await;
    let url = emu.url("/api/");
    let http = emu.http.clone();
    emu.handle.shutdown().await;
    assert!(
        http.get(url)
            .basic_auth(ID, Some(PASSWORD))
            .send()
            .await
            .is_err()
    );
}
