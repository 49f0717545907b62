//! Belvo's API as the emulator serves it: auth, errors, institutions, links and MFA, tokens,
//! pagination, filters, data resources.

use std::collections::HashSet;

use belvo_emulator::{Config, Mode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ID, PASSWORD, is_request_id, start, start_with};

#[tokio::test]
async fn basic_auth_is_required_and_errors_are_belvo_arrays() {
    let emu = start().await;
    let r = emu.http.get(emu.url("/api/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["code"], "authentication_failed");
    assert_eq!(body[0]["message"], "Invalid Secret Keys");
    assert!(is_request_id(body[0]["request_id"].as_str().unwrap()));
    let r = emu
        .http
        .get(emu.url("/api/links/"))
        .basic_auth(ID, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, index) = emu.get("/api/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(index["links"].as_str().unwrap().ends_with("/api/links/"));
    let (s, body) = emu.get("/api/nothing-here/").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body[0]["code"], "not_found");
}

#[tokio::test]
async fn institutions_list_filter_and_detail() {
    let emu = start().await;
    let all = emu.all("/api/institutions/").await;
    let names: Vec<&str> = all.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for n in [
        "erebor_mx_retail",
        "gringotts_mx_retail",
        "gotham_mx_business",
        "heimdall_mx_retail",
        "tatooine_mx_fiscal",
        "planet_mx_employment",
        "ofmockbank_br_retail",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
    let br = emu.all("/api/institutions/?country_code=BR").await;
    assert!(!br.is_empty() && br.iter().all(|i| i["country_codes"] == json!(["BR"])));
    let fiscal = emu.all("/api/institutions/?type=fiscal").await;
    assert_eq!(fiscal.len(), 1);
    let (s, one) = emu.get("/api/institutions/1003/").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["name"], "erebor_mx_retail");
    let gotham = all
        .iter()
        .find(|i| i["name"] == "gotham_mx_business")
        .unwrap();
    assert_eq!(gotham["features"][0]["name"], "token_required");
}

#[tokio::test]
async fn link_creation_validation_duplicates_and_login_errors() {
    let emu = start().await;
    let link = emu
        .link("erebor_mx_retail", "user_valid", "pass_valid")
        .await;
    assert_eq!(link["status"], "valid");
    assert_eq!(link["access_mode"], "recurrent");
    let iuid = link["institution_user_id"].as_str().unwrap();
    assert_eq!(iuid.len(), 44);
    let id = link["id"].as_str().unwrap();
    let (s, got) = emu.get(&format!("/api/links/{id}/")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, link);

    let (s, dup) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "username": "user_valid", "password": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(dup[0]["code"], "duplicated");
    assert_eq!(dup[0]["institution_user_id"], iuid);

    let (s, bad) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "username": "user_invalid", "password": "pass_invalid"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad[0]["code"], "login_error");

    let (s, bad) = emu
        .post(
            "/api/links/",
            json!({"institution": "narnia", "username": "a", "password": "b"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad[0]["code"], "does_not_exist");
    assert_eq!(bad[0]["field"], "institution");

    let (s, bad) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "password": "b"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad[0]["code"], "required");
    assert_eq!(bad[0]["field"], "username");

    let (s, bad) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "username": "u2", "password": "b", "fetch_resources": "ACCOUNTS"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad[0]["code"], "not_a_list");

    let (s, bad) = emu
        .post(
            "/api/links/",
            json!({"institution": "erebor_mx_retail", "username": "u3", "password": "b", "fetch_resources": ["INVOICES"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(bad[0]["code"], "invalid");

    // Employment logs in with the CURP alone.
    let (s, emp) = emu
        .post(
            "/api/links/",
            json!({"institution": "planet_mx_employment", "username": "BLPM951331IONVGR54", "access_mode": "single", "fetch_resources": ["EMPLOYMENT_RECORDS"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{emp}");
    assert_eq!(emp["access_mode"], "single");

    let links = emu.all("/api/links/?status=valid").await;
    assert_eq!(links.len(), 2);
}

#[tokio::test]
async fn mfa_register_resume_wrong_token_and_expiry() {
    let emu = start().await;
    let (s, e) = emu
        .post(
            "/api/links/",
            json!({"institution": "gotham_mx_business", "username": "user_valid", "password": "pass_valid"}),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    let e = &e[0];
    assert_eq!(e["code"], "token_required");
    let session = e["session"].as_str().unwrap().to_owned();
    assert!(is_request_id(&session));
    let link = e["link"].as_str().unwrap().to_owned();
    let (_, l) = emu.get(&format!("/api/links/{link}/")).await;
    assert_eq!(l["status"], "unconfirmed");

    let (s, again) = emu
        .send(
            Method::PATCH,
            "/api/links/",
            json!({"session": session, "token": "999999", "link": link}),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(again[0]["session"], session.as_str());

    let (s, ok) = emu
        .send(
            Method::PATCH,
            "/api/links/",
            json!({"session": session, "token": "111111", "link": link, "save_data": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    assert_eq!(ok["status"], "valid");
    assert_eq!(ok["id"], link.as_str());

    // An expired session cannot be resumed.
    let (s, e) = emu
        .post(
            "/api/links/",
            json!({"institution": "heimdall_mx_retail", "username": "someone", "password": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    emu.handle.control().expire_mfa_sessions();
    let (s, gone) = emu
        .send(
            Method::PATCH,
            "/api/links/",
            json!({"session": e[0]["session"], "token": "111111", "link": e[0]["link"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(gone[0]["code"], "session_expired");

    // A valid token in the first request skips the 428.
    let (s, direct) = emu
        .post(
            "/api/links/",
            json!({"institution": "gotham_mx_business", "username": "mfa_default", "password": "pass_valid", "token": "111111"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(direct["status"], "valid");
}

#[tokio::test]
async fn pagination_envelope_default_size_clamp_and_next_urls() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "bnk100", "full").await;
    let id = link["id"].as_str().unwrap();
    let (s, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["count"], 120);
    assert_eq!(page["results"].as_array().unwrap().len(), 10);
    assert!(page["previous"].is_null());
    let next = page["next"].as_str().unwrap();
    assert!(next.starts_with(&emu.base), "{next}");
    assert!(next.contains(&format!("link={id}")) && next.contains("page=2"));
    let all = emu.all(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(all.len(), 120);
    let ids: HashSet<&str> = all.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 120);
    let (_, p2) = emu.get_abs(next).await;
    assert!(
        p2["previous"]
            .as_str()
            .unwrap()
            .contains(&format!("link={id}"))
    );
    let (_, big) = emu
        .get(&format!("/api/transactions/?link={id}&page_size=5000"))
        .await;
    assert_eq!(big["results"].as_array().unwrap().len(), 120);
    assert!(big["next"].is_null());
    let (s, e) = emu
        .get(&format!("/api/transactions/?link={id}&page=99"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e[0]["code"], "not_found");
    let (s, e) = emu.get("/api/transactions/").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "link");

    let prod = start_with(Config {
        mode: Mode::Production,
        ..common::config()
    })
    .await;
    let link = prod.link("erebor_mx_retail", "bnk100", "full").await;
    let (_, page) = prod
        .get(&format!(
            "/api/transactions/?link={}",
            link["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn filters_match_a_brute_force_evaluation() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "filters_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let all = emu
        .all(&format!("/api/transactions/?link={id}&page_size=1000"))
        .await;
    let check = |q: &str, pred: &dyn Fn(&Value) -> bool| {
        let want: Vec<&Value> = all.iter().filter(|t| pred(t)).collect();
        (q.to_owned(), want.len())
    };
    let cases = vec![
        check("value_date__gte=2026-05-01", &|t| {
            t["value_date"].as_str().unwrap() >= "2026-05-01"
        }),
        check("value_date__range=2026-01-01,2026-01-31", &|t| {
            let d = t["value_date"].as_str().unwrap();
            ("2026-01-01"..="2026-01-31").contains(&d)
        }),
        check("type=INFLOW", &|t| t["type"] == "INFLOW"),
        check("amount__gte=1000", &|t| {
            t["amount"].as_f64().unwrap() >= 1000.0
        }),
        check("status__in=PENDING,UNCATEGORIZED", &|t| {
            t["status"] == "PENDING"
        }),
        check("value_date__lt=2026-03-01&type=OUTFLOW", &|t| {
            t["value_date"].as_str().unwrap() < "2026-03-01" && t["type"] == "OUTFLOW"
        }),
    ];
    for (q, n) in cases {
        let got = emu.all(&format!("/api/transactions/?link={id}&{q}")).await;
        assert_eq!(got.len(), n, "{q}");
        assert!(n > 0, "{q} selects nothing; the test would prove little");
    }
    let account = all[0]["account"]["id"].as_str().unwrap();
    let by_account = emu
        .all(&format!("/api/transactions/?link={id}&account={account}"))
        .await;
    assert!(by_account.iter().all(|t| t["account"]["id"] == account));
    assert_eq!(
        by_account.len(),
        all.iter().filter(|t| t["account"]["id"] == account).count()
    );
    let accounts = emu
        .all(&format!("/api/accounts/?link={id}&category=CREDIT_CARD"))
        .await;
    assert_eq!(accounts.len(), 1);
    let trimmed = emu
        .all(&format!("/api/accounts/?link={id}&fields=id,name"))
        .await;
    assert_eq!(trimmed[0].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn data_resources_detail_delete_and_retrieve() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "data_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let (_, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    let first = &page["results"][0];
    let tid = first["id"].as_str().unwrap();
    let (s, detail) = emu.get(&format!("/api/transactions/{tid}/")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(&detail, first);

    let r = emu
        .http
        .delete(emu.url(&format!("/api/transactions/{tid}/")))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = emu.get(&format!("/api/transactions/{tid}/")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, page) = emu.get(&format!("/api/transactions/?link={id}")).await;
    assert_eq!(page["count"], 119);
    assert_ne!(page["results"][0]["id"], tid);

    for (path, min) in [
        ("accounts", 4),
        ("owners", 1),
        ("balances", 30),
        ("incomes", 1),
        ("recurring-expenses", 3),
        ("risk-insights", 1),
    ] {
        let items = emu.all(&format!("/api/{path}/?link={id}")).await;
        assert!(items.len() >= min, "{path}: {}", items.len());
        assert!(items.iter().all(|i| i["id"].is_string()), "{path}");
    }

    let (s, got) = emu
        .post(
            "/api/transactions/",
            json!({"link": id, "date_from": "2026-06-01", "date_to": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let got = got.as_array().unwrap();
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|t| t["value_date"].as_str().unwrap() >= "2026-06-01")
    );
    let (s, e) = emu.post("/api/transactions/", json!({"link": id})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "required");
    let (s, e) = emu
        .post(
            "/api/transactions/",
            json!({"link": id, "date_from": "01/06/2026", "date_to": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "invalid");
    let (s, v) = emu
        .post("/api/incomes/", json!({"link": id, "save_data": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.is_object() && v["income_streams"].is_array());
    let (s, e) = emu
        .post("/api/invoices/", json!({"link": id, "date_from": "2026-01-01", "date_to": "2026-02-01", "type": "INFLOW"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "unsupported_operation");
}

#[tokio::test]
async fn profiles_and_fiscal_and_employment_data() {
    let emu = start().await;
    let none = emu.link("erebor_mx_retail", "bnk101", "nodata").await;
    let low = emu.link("erebor_mx_retail", "bnk102", "low").await;
    let neg = emu.link("gringotts_mx_retail", "bnk103", "negative").await;
    let (_, p) = emu
        .get(&format!(
            "/api/accounts/?link={}",
            none["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p["count"], 0);
    let (_, p) = emu
        .get(&format!(
            "/api/transactions/?link={}",
            low["id"].as_str().unwrap()
        ))
        .await;
    assert!(p["count"].as_u64().unwrap() < 10);
    assert!(p["next"].is_null());
    let accounts = emu
        .all(&format!(
            "/api/accounts/?link={}&category=CHECKING_ACCOUNT",
            neg["id"].as_str().unwrap()
        ))
        .await;
    assert!(accounts[0]["balance"]["current"].as_f64().unwrap() < 0.0);

    let fiscal = emu
        .link("tatooine_mx_fiscal", "PFIS010101000", "individual")
        .await;
    let fid = fiscal["id"].as_str().unwrap();
    let invoices = emu
        .all(&format!("/api/invoices/?link={fid}&page_size=100"))
        .await;
    assert_eq!(invoices.len(), 40);
    assert!(
        invoices
            .iter()
            .all(|i| ["Vigente", "Cancelado"].contains(&i["status"].as_str().unwrap()))
    );
    assert!(
        invoices
            .iter()
            .any(|i| i["sender_id"] == "PFIS010101000" || i["receiver_id"] == "PFIS010101000")
    );
    for path in [
        "tax-returns",
        "tax-status",
        "tax-compliance-status",
        "tax-retentions",
    ] {
        let items = emu.all(&format!("/api/{path}/?link={fid}")).await;
        assert!(!items.is_empty(), "{path}");
    }
    let (s, ts) = emu.post("/api/tax-status/", json!({"link": fid})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(ts.is_object());
    let (s, inv) = emu
        .post(
            "/api/invoices/",
            json!({"link": fid, "date_from": "2025-07-01", "date_to": "2026-06-30", "type": "OUTFLOW"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        inv.as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] == "OUTFLOW")
    );
    let (s, e) = emu
        .post(
            "/api/invoices/",
            json!({"link": fid, "date_from": "2024-01-01", "date_to": "2026-06-30", "type": "OUTFLOW"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "validation_error");

    let emp = emu
        .link("planet_mx_employment", "BLPM951331IONVGR54", "")
        .await;
    let recs = emu
        .all(&format!(
            "/api/employment-records/?link={}",
            emp["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["internal_identification"], "BLPM951331IONVGR54");
}

#[tokio::test]
async fn data_is_deterministic_per_user_and_seed() {
    let a = start().await;
    let b = start().await;
    let la = a.link("erebor_mx_retail", "same_user", "pw").await;
    let lb = b.link("erebor_mx_retail", "same_user", "pw").await;
    assert_eq!(la["id"], lb["id"]);
    let strip = |v: Vec<Value>| {
        v.into_iter()
            .map(|t| {
                (
                    t["id"].clone(),
                    t["amount"].clone(),
                    t["description"].clone(),
                    t["value_date"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let ta = a
        .all(&format!(
            "/api/transactions/?link={}&page_size=50",
            la["id"].as_str().unwrap()
        ))
        .await;
    let tb = b
        .all(&format!(
            "/api/transactions/?link={}&page_size=50",
            lb["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(strip(ta), strip(tb));
}

#[tokio::test]
async fn widget_token_validation_and_update_mode() {
    let emu = start().await;
    let body = json!({"id": ID, "password": PASSWORD, "scopes": "read_institutions,write_links",
        "fetch_resources": ["ACCOUNTS", "TRANSACTIONS"], "stale_in": "365d",
        "widget": {"branding": {"company_name": "ACME"}}});
    let (s, t) = emu.post("/api/token/", body.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["access"].as_str().unwrap().split('.').count(), 3);
    assert!(t["refresh"].is_string());
    let (s, e) = emu
        .post("/api/token/", json!({"id": ID, "password": PASSWORD}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "scopes");
    let (s, _) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": "nope", "scopes": "write_links"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD, "scopes": "write_links", "stale_in": "forever"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "stale_in");
    let (s, e) = emu
        .post("/api/token/", json!({"id": ID, "password": PASSWORD, "scopes": "write_links", "fetch_resources": ["NOPE"]}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "invalid_choice");
    let link = emu.link("erebor_mx_retail", "update_user", "pw").await;
    let (s, t) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD,
            "scopes": "read_institutions,write_links,read_links", "link_id": link["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, e) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD,
            "scopes": "write_links", "link_id": "6f1a6e0a-95d5-4b53-9d9e-2b0e2d7a1c11"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "link_id");
}

#[tokio::test]
async fn link_modify_update_delete_and_status_errors() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "life_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let (s, m) = emu
        .send(
            Method::PATCH,
            &format!("/api/links/{id}/"),
            json!({"access_mode": "single", "stale_in": "30d"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["access_mode"], "single");
    assert_eq!(m["stale_in"], "30d");
    emu.handle
        .control()
        .set_link_status(
            id.parse().unwrap(),
            belvo_emulator::LinkStatus::Invalid,
            false,
        )
        .unwrap();
    let (s, e) = emu.post("/api/accounts/", json!({"link": id})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "invalid_link");
    let (s, u) = emu
        .send(
            Method::PUT,
            &format!("/api/links/{id}/"),
            json!({"password": "new"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["status"], "valid");

    emu.handle
        .control()
        .set_link_status(
            id.parse().unwrap(),
            belvo_emulator::LinkStatus::TokenRequired,
            false,
        )
        .unwrap();
    let (s, e) = emu.post("/api/owners/", json!({"link": id})).await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    let (s, owners) = emu
        .send(
            Method::PATCH,
            "/api/owners/",
            json!({"session": e[0]["session"], "token": "111111", "link": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{owners}");
    assert_eq!(owners.as_array().unwrap().len(), 1);

    let r = emu
        .http
        .delete(emu.url(&format!("/api/links/{id}/")))
        .basic_auth(ID, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = emu.get(&format!("/api/links/{id}/")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sync_deletes_are_rate_limited() {
    let emu = start_with(Config {
        delete_rate_per_minute: 2,
        ..common::config()
    })
    .await;
    let mut statuses = Vec::new();
    for u in ["d1", "d2", "d3"] {
        let l = emu.link("erebor_mx_retail", u, "pw").await;
        let r = emu
            .http
            .delete(emu.url(&format!("/api/links/{}/", l["id"].as_str().unwrap())))
            .basic_auth(ID, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::NO_CONTENT,
            StatusCode::NO_CONTENT,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

/// The widget's browser endpoints, without a browser: the same link logic as the API, bearer
/// token auth, the token spent by the link it creates, expiry, update mode.
#[tokio::test]
async fn widget_endpoints_use_the_token_and_the_api_link_logic() {
    let emu = start().await;
    let (_, t) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD, "scopes": "read_institutions,write_links",
                   "fetch_resources": ["ACCOUNTS", "OWNERS"], "external_id": "w-user"}),
        )
        .await;
    let access = t["access"].as_str().unwrap().to_owned();
    let call = |m: Method, path: &str, token: &str, body: Option<Value>| {
        let mut r = emu
            .http
            .request(m, emu.url(path))
            .header("authorization", format!("Bearer {token}"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let r = r.send().await.unwrap();
            let s = r.status();
            let cors = r.headers().get("access-control-allow-origin").cloned();
            (s, r.json::<Value>().await.unwrap_or(Value::Null), cors)
        }
    };
    let (s, session, cors) = call(Method::GET, "/_widget/api/session", &access, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(session["mode"], "create");
    assert_eq!(cors.unwrap(), "*");
    let (_, inst, _) = call(
        Method::GET,
        "/_widget/api/institutions?country_codes=MX&institution_types=fiscal",
        &access,
        None,
    )
    .await;
    let names: Vec<&str> = inst["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tatooine_mx_fiscal"]);
    let (s, e, _) = call(
        Method::POST,
        "/_widget/api/links",
        &access,
        Some(
            json!({"institution": "erebor_mx_retail", "username": "user_invalid", "password": "x"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "login_error");
    let (s, link, _) = call(
        Method::POST,
        "/_widget/api/links",
        &access,
        Some(json!({"institution": "erebor_mx_retail", "username": "w_user", "password": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(link["external_id"], "w-user");
    assert_eq!(link["fetch_resources"], json!(["ACCOUNTS", "OWNERS"]));
    let (s, e, _) = call(Method::GET, "/_widget/api/session", &access, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "spent by the link it created");
    assert_eq!(e[0]["code"], "ACCESS_TOKEN_NOT_VALID");
    let (s, _, _) = call(Method::GET, "/_widget/api/session", "not-a-token", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = emu
        .http
        .request(Method::OPTIONS, emu.url("/_widget/api/links"))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(r.headers().get("access-control-allow-headers").is_some());

    // Expiry.
    let (_, t2) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD, "scopes": "write_links"}),
        )
        .await;
    emu.handle.control().expire_widget_tokens();
    let (s, _, _) = call(
        Method::GET,
        "/_widget/api/session",
        t2["access"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Update mode re-validates the same link.
    let id = link["id"].as_str().unwrap();
    emu.handle
        .control()
        .set_link_status(
            id.parse().unwrap(),
            belvo_emulator::LinkStatus::Invalid,
            false,
        )
        .unwrap();
    let (_, t3) = emu
        .post(
            "/api/token/",
            json!({"id": ID, "password": PASSWORD,
            "scopes": "read_institutions,write_links,read_links", "link_id": id}),
        )
        .await;
    let t3 = t3["access"].as_str().unwrap();
    let (_, session, _) = call(Method::GET, "/_widget/api/session", t3, None).await;
    assert_eq!(session["mode"], "update");
    assert_eq!(session["link"]["id"], id);
    let (s, updated, _) = call(
        Method::PUT,
        &format!("/_widget/api/links/{id}"),
        t3,
        Some(json!({"password": "new"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(updated["status"], "valid");
    let (s, _, _) = call(Method::GET, "/_widget/api/session", t3, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "update-mode token spent too");
    let r = emu
        .http
        .get(emu.url("/belvo-widget-1-stable.js"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(r.text().await.unwrap().contains("belvoSDK"));
    let r = emu
        .http
        .get(emu.url("/widget/?access_token=x"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("belvo-widget-1-stable.js"));
}
