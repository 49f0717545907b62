//! Belvo's API as the emulator serves it: auth, errors, institutions, links and MFA, tokens,
//! pagination, filters, data resources.

use std::collections::HashSet;

use belvo_emulator::{Config, Mode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{self, ID, PASSWORD, branding, is_request_id, start, start_with, token_body};

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
    let (s, t) = emu.post("/api/token/", token_body(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["access"].as_str().unwrap().split('.').count(), 3);
    assert!(t["refresh"].is_string());
    let (s, e) = emu
        .post("/api/token/", json!({"id": ID, "password": PASSWORD}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "scopes");
    let (s, _) = emu
        .post("/api/token/", token_body(json!({"password": "nope"})))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = emu
        .post("/api/token/", token_body(json!({"stale_in": "forever"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "stale_in");
    let (s, e) = emu
        .post(
            "/api/token/",
            token_body(json!({"fetch_resources": ["NOPE"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "invalid_choice");
    // Resources of Belvo's token schemas that the emulator serves no data for are accepted.
    let (s, t) = emu
        .post(
            "/api/token/",
            token_body(
                json!({"fetch_resources": ["INVOICES", "FINANCIAL_STATEMENTS", "TAX_STATUS"]}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let link = emu.link("erebor_mx_retail", "update_user", "pw").await;
    // Update mode: keys, scopes and the link (Belvo's documented update-mode body).
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

/// Belvo's 1.223.0 token schemas require `stale_in`, `fetch_resources` and `widget.branding`
/// (and, for Open Finance, the feature, callback URLs and consent); each missing one is a 400
/// naming it. The consent portal's scopes (no `write_links`) are a token of their own.
#[tokio::test]
async fn widget_tokens_require_what_belvos_spec_requires() {
    let emu = start().await;
    let refused = |body: Value, field: &'static str, code: &'static str| {
        let emu = &emu;
        async move {
            let (s, e) = emu.post("/api/token/", body.clone()).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{body} → {e}");
            assert_eq!(e[0]["field"], field, "{body} → {e}");
            assert_eq!(e[0]["code"], code, "{body} → {e}");
            assert!(is_request_id(e[0]["request_id"].as_str().unwrap()));
        }
    };
    refused(
        token_body(json!({"stale_in": null})),
        "stale_in",
        "required",
    )
    .await;
    refused(
        token_body(json!({"fetch_resources": null})),
        "fetch_resources",
        "required",
    )
    .await;
    refused(token_body(json!({"widget": null})), "widget", "required").await;
    refused(
        token_body(json!({"widget": {"branding": null}})),
        "widget.branding",
        "required",
    )
    .await;
    let mut partial = branding();
    partial.as_object_mut().unwrap().remove("company_logo");
    refused(
        token_body(json!({"widget": {"branding": partial}})),
        "widget.branding.company_logo",
        "required",
    )
    .await;
    let mut bad_url = branding();
    bad_url["company_terms_url"] = json!("not a url");
    refused(
        token_body(json!({"widget": {"branding": bad_url}})),
        "widget.branding.company_terms_url",
        "invalid",
    )
    .await;
    refused(
        token_body(json!({"widget": {"callback_urls": {"success": "app://ok"}}})),
        "widget.callback_urls.exit",
        "required",
    )
    .await;

    // Open Finance (Brazil): what the OFDA schema adds.
    let consent = json!({"purpose": "Ofertas personalizadas", "terms_and_conditions_url": "https://acme.example/termos",
        "permissions": ["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"],
        "identification_info": [{"type": "CPF", "number": "76109277673", "name": "Ralph Bragg"}]});
    let callbacks =
        json!({"success": "app://success", "exit": "app://exit", "event": "app://event"});
    let ofda = |widget: Value| {
        token_body(json!({
            "scopes": "read_institutions,write_links,read_consents,write_consents,write_consent_callback,delete_consents",
            "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS", "BILLS"],
            "widget": widget}))
    };
    let full = json!({"openfinance_feature": "consent_link_creation", "callback_urls": callbacks, "consent": consent});
    let (s, t) = emu.post("/api/token/", ofda(full.clone())).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let without = |key: &str| {
        let mut w = full.clone();
        w.as_object_mut().unwrap().remove(key);
        ofda(w)
    };
    refused(
        without("openfinance_feature"),
        "widget.openfinance_feature",
        "required",
    )
    .await;
    refused(without("consent"), "widget.consent", "required").await;
    refused(without("callback_urls"), "widget.callback_urls", "required").await;
    let consent_with = |key: &str, v: Value| {
        let mut w = full.clone();
        w["consent"][key] = v;
        ofda(w)
    };
    refused(
        consent_with("permissions", json!(["REGISTER", "ACCOUNTS"])),
        "widget.consent.permissions",
        "invalid",
    )
    .await;
    refused(
        consent_with("identification_info", Value::Null),
        "widget.consent.identification_info",
        "required",
    )
    .await;
    refused(
        consent_with("identification_info", json!([])),
        "widget.consent.identification_info",
        "invalid",
    )
    .await;
    refused(
        consent_with(
            "identification_info",
            json!([{"type": "RG", "number": "1", "name": "x"}]),
        ),
        "widget.consent.identification_info[0].type",
        "invalid_choice",
    )
    .await;
    refused(
        consent_with("purpose", json!("x".repeat(141))),
        "widget.consent.purpose",
        "invalid",
    )
    .await;
    // Open Finance fetches Open Finance resources only.
    let mut fiscal = ofda(full.clone());
    fiscal["fetch_resources"] = json!(["INVOICES"]);
    refused(fiscal, "fetch_resources", "invalid_choice").await;

    // The My Belvo Portal's consent scopes, without write_links, are accepted; that token
    // identifies the user and creates no link.
    let portal = json!({"id": ID, "password": PASSWORD,
        "scopes": "read_consents,write_consents,write_consent_callback",
        "widget": {"openfinance_feature": "consent_management", "callback_urls": callbacks,
                   "consent": {"identification_info": [{"type": "CPF", "number": "76109277673", "name": "Ralph Bragg"}]}}});
    let (s, t) = emu.post("/api/token/", portal.clone()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, _) = emu
        .widget_link(
            &t["access"],
            json!({"institution": "erebor_mx_retail", "username": "portal_user", "password": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a portal token creates no link");
    let mut no_id = portal.clone();
    no_id["widget"]["consent"] = json!({});
    refused(no_id, "widget.consent.identification_info", "required").await;
    let (s, e) = emu
        .post(
            "/api/token/",
            token_body(json!({"scopes": "read_institutions,read_links"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "scopes");
}

/// The bodies token-service sends (services/token-service/src/body.rs, through libs/belvo's
/// `WidgetTokenRequest`): Mexico multi-region, update mode, and Brazil OFDA.
#[tokio::test]
async fn token_service_shaped_bodies_are_accepted() {
    let emu = start().await;
    let widget = json!({"branding": {"company_icon": "https://acme.example/icon.svg",
            "company_logo": "https://acme.example/logo.svg", "company_name": "ACME",
            "company_terms_url": "https://acme.example/terms", "company_terms_version": "20260323"},
        "callback_urls": {"success": "https://app.acme.example/connect/success",
            "exit": "https://app.acme.example/connect/exit", "event": "https://app.acme.example/connect/event"},
        "theme": [{"css_key": "--color-primary-base", "value": "#0663F9"}]});
    let mx = json!({"id": ID, "password": PASSWORD, "scopes": "read_institutions,write_links",
        "fetch_resources": ["EMPLOYMENT_RECORDS", "INVOICES", "TAX_COMPLIANCE_STATUS", "TAX_RETENTIONS", "TAX_RETURNS", "TAX_STATUS"],
        "stale_in": "365d", "credentials_storage": "store", "external_id": "Z3Vlc3NfdGhlX2tleV9ub3RfaGVyZV9hYmNkZWZnaGk", "widget": widget});
    let (s, t) = emu.post("/api/token/", mx.clone()).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let link = emu.link("erebor_mx_retail", "ts_update", "pw").await;
    let mut update = mx.clone();
    update["scopes"] = json!("read_institutions,write_links,read_links");
    update["link_id"] = link["id"].clone();
    update["fetch_resources"] = json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS"]);
    let (s, t) = emu.post("/api/token/", update).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let mut ofda = mx;
    ofda["scopes"] = json!(
        "read_institutions,write_links,read_consents,write_consents,write_consent_callback,delete_consents"
    );
    ofda.as_object_mut().unwrap().remove("credentials_storage");
    ofda["fetch_resources"] = json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS", "BILLS"]);
    ofda["widget"]["openfinance_feature"] = json!("consent_link_creation");
    ofda["widget"]["consent"] = json!({"purpose": "Soluções financeiras",
        "terms_and_conditions_url": "https://acme.example/termos",
        "permissions": ["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"],
        "identification_info": [{"type": "CPF", "number": "76109277673", "name": "Ralph Bragg"},
                                {"type": "CNPJ", "number": "50685362006773", "name": "ACME Ltda"}],
        "default_consent_duration_days": 183});
    let (s, t) = emu.post("/api/token/", ofda).await;
    assert_eq!(s, StatusCode::OK, "{t}");
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
            token_body(json!({"fetch_resources": ["ACCOUNTS", "OWNERS"], "external_id": "w-user"})),
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
    let (_, t2) = emu.post("/api/token/", token_body(json!({}))).await;
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

/// data-service's incremental pull asks `created_at__gte=<RFC 3339 in milliseconds, Z>`. Belvo
/// compares instants (days for a date), never text; a malformed value is its 400.
#[tokio::test]
async fn timestamp_filters_compare_as_instants_and_dates() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "ts_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let created = link["created_at"].as_str().unwrap().to_owned();
    let instant = chrono::DateTime::parse_from_rfc3339(&created).unwrap();
    let count = |q: String| {
        let emu = &emu;
        async move {
            let (s, p) = emu.get(&q).await;
            assert_eq!(s, StatusCode::OK, "{q}: {p}");
            p["count"].as_u64().unwrap()
        }
    };
    let tx = |q: &str| format!("/api/transactions/?link={id}&{q}");
    // Belvo's timestamps have microseconds; the watermark has milliseconds and `Z`.
    assert_eq!(created.len(), 27, "{created}");
    let watermark = format!("{}Z", &created[..23]);
    assert_eq!(
        count(tx(&format!("created_at__gte={watermark}"))).await,
        120
    );
    assert_eq!(count(tx(&format!("created_at__gt={created}"))).await, 0);
    assert_eq!(count(tx(&format!("created_at__lte={created}"))).await, 120);
    assert_eq!(count(tx(&format!("created_at__lt={watermark}"))).await, 0);
    // Offsets and no fraction.
    let minus5 = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
    let before = (instant - chrono::Duration::seconds(1)).with_timezone(&minus5);
    let after = instant + chrono::Duration::seconds(1);
    assert_eq!(
        count(tx(&format!(
            "created_at__gte={}",
            before.format("%Y-%m-%dT%H:%M:%S%:z")
        )))
        .await,
        120
    );
    assert_eq!(
        count(tx(&format!(
            "created_at__gte={}%2B02:00",
            after
                .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
                .format("%Y-%m-%dT%H:%M:%S")
        )))
        .await,
        0
    );
    assert_eq!(
        count(tx(&format!(
            "created_at__range={},{}",
            before.format("%Y-%m-%dT%H:%M:%S%:z"),
            after.format("%Y-%m-%dT%H:%M:%SZ")
        )))
        .await,
        120
    );
    // A date is a day: "created on or after / after / before this date".
    let day = &created[..10];
    assert_eq!(count(tx(&format!("created_at__gte={day}"))).await, 120);
    assert_eq!(count(tx(&format!("created_at={day}"))).await, 120);
    assert_eq!(count(tx(&format!("created_at__gt={day}"))).await, 0);
    assert_eq!(count(tx(&format!("created_at__lt={day}"))).await, 0);
    assert_eq!(count(tx(&format!("collected_at__lte={day}"))).await, 120);
    // The other resources and links take the same filters.
    for (path, n) in [("accounts", 4), ("owners", 1), ("balances", 90)] {
        assert_eq!(
            count(format!(
                "/api/{path}/?link={id}&created_at__gte={watermark}"
            ))
            .await,
            n,
            "{path}"
        );
    }
    assert_eq!(
        count(format!("/api/links/?created_at__gte={watermark}")).await,
        1
    );
    assert_eq!(
        count(format!("/api/links/?created_at__gt={created}")).await,
        0
    );
    // A timestamp on a date field compares by its UTC day.
    let dated = count(tx("value_date__gte=2026-06-01")).await;
    assert!(dated > 0);
    assert_eq!(
        count(tx("value_date__gte=2026-06-01T18:30:00-05:00")).await,
        dated
    );
    // Malformed values: Belvo's error array naming the parameter.
    for bad in [
        "created_at__gte=yesterday",
        "created_at__gte=2026-06-31T00:00:00Z",
        "value_date__range=2026-01-01",
        "collected_at__lt=06/30/2026",
    ] {
        let (s, e) = emu.get(&tx(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {e}");
        assert_eq!(e[0]["code"], "invalid", "{bad}");
        assert_eq!(e[0]["field"], bad.split('=').next().unwrap(), "{bad}");
        assert!(is_request_id(e[0]["request_id"].as_str().unwrap()));
    }
    let (s, e) = emu.get("/api/links/?created_at__gte=soon").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "created_at__gte");
}

/// Belvo's tax returns: personal (13-character RFC) or business (12), yearly and monthly, in
/// the spec's four shapes; listed with `ejercicio` and `tipo_declaracion` filters, retrieved by
/// year range or month window, announced by one `historical_update` per type.
#[tokio::test]
async fn tax_returns_come_in_belvos_four_shapes_and_filter_by_year() {
    let emu = start().await;
    let person = emu.link("tatooine_mx_fiscal", "PFIS010101000", "pw").await;
    let company = emu.link("tatooine_mx_fiscal", "ABC1111111A1", "pw").await;
    let (pid, cid) = (
        person["id"].as_str().unwrap().to_owned(),
        company["id"].as_str().unwrap().to_owned(),
    );
    let list = |link: &str, q: &str| {
        let emu = &emu;
        let path = format!("/api/tax-returns/?link={link}&page_size=100&{q}");
        async move { emu.all(&path).await }
    };
    let split = |all: Vec<Value>| -> (Vec<Value>, Vec<Value>) {
        all.into_iter().partition(|r| r["type"] != "monthly")
    };
    let (yearly, monthly) = split(list(&pid, "").await);
    assert_eq!((yearly.len(), monthly.len()), (3, 12));
    for r in &yearly {
        for k in [
            "sueldos_salarios",
            "servicios_profesionales",
            "deducciones_personales",
            "determinacion_impuesto",
            "retenciones",
            "dividendos",
        ] {
            assert!(r.get(k).is_some(), "personal yearly lacks {k}: {r}");
        }
        assert!(r.get("type").is_none(), "Belvo's yearly shape has no type");
        assert_eq!(r["informacion_general"]["rfc"], "PFIS010101000");
        assert!(r["informacion_general"]["nombre"].is_string());
        assert_eq!(
            r["informacion_general"]["periodo_declaracion"],
            "Del Ejercicio"
        );
    }
    let years: Vec<i64> = yearly
        .iter()
        .map(|r| r["informacion_general"]["ejercicio"].as_i64().unwrap())
        .collect();
    assert_eq!(years, [2025, 2024, 2023]);
    for r in &monthly {
        assert!(r["isr"].is_object() && r["iva"].is_object(), "{r}");
        assert!(r.get("sueldos_salarios").is_none());
    }
    assert_eq!(
        monthly[0]["informacion_general"]["periodo_declaracion"],
        "Mayo"
    );
    assert_eq!(monthly[0]["informacion_general"]["ejercicio"], 2026);
    assert_eq!(
        monthly[11]["informacion_general"]["periodo_declaracion"],
        "Junio"
    );
    assert_eq!(monthly[11]["informacion_general"]["ejercicio"], 2025);
    let (yearly, monthly) = split(list(&cid, "").await);
    assert_eq!((yearly.len(), monthly.len()), (3, 12));
    for r in &yearly {
        for k in [
            "datos_adicionales",
            "estado_resultados",
            "estado_posicion_financiera_balance",
            "determinacion_del_impuesto_sobre_la_renta",
        ] {
            assert!(r.get(k).is_some(), "business yearly lacks {k}");
        }
        assert!(r["informacion_general"]["denominacion_razon_social"].is_string());
    }
    for r in &monthly {
        for k in [
            "determinacion_isr",
            "detalle_pago_isr",
            "determinacion_iva",
            "detalle_pago_iva",
        ] {
            assert!(r.get(k).is_some(), "business monthly lacks {k}");
        }
    }

    // List filters.
    assert_eq!(list(&pid, "ejercicio=2025").await.len(), 8);
    assert_eq!(
        list(&pid, "ejercicio__gte=2024&ejercicio__lte=2024")
            .await
            .len(),
        1
    );
    assert_eq!(list(&pid, "ejercicio__range=2023,2024").await.len(), 2);
    assert_eq!(list(&pid, "ejercicio__gt=2025").await.len(), 5);
    assert_eq!(list(&pid, "tipo_declaracion=Normal").await.len(), 15);
    assert_eq!(
        list(&pid, "tipo_declaracion__in=Complementaria")
            .await
            .len(),
        0
    );
    let (s, e) = emu
        .get(&format!("/api/tax-returns/?link={pid}&ejercicio=twenty"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["field"], "ejercicio");

    // Retrieve: yearly by year range (the default type), monthly by window.
    let post = |body: Value| {
        let emu = &emu;
        async move { emu.post("/api/tax-returns/", body).await }
    };
    for body in [
        json!({"link": pid, "type": "yearly", "year_from": "2024", "year_to": "2025"}),
        json!({"link": pid, "year_from": 2024, "year_to": 2025}),
    ] {
        let (s, got) = post(body).await;
        assert_eq!(s, StatusCode::CREATED, "{got}");
        let years: Vec<i64> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["informacion_general"]["ejercicio"].as_i64().unwrap())
            .collect();
        assert_eq!(years, [2025, 2024]);
    }
    let (s, got) = post(
        json!({"link": pid, "type": "monthly", "date_from": "2025-11-15", "date_to": "2026-02-10"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{got}");
    let periods: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["informacion_general"]["periodo_declaracion"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(periods, ["Febrero", "Enero", "Diciembre", "Noviembre"]);
    let (s, got) = post(json!({"link": cid, "type": "monthly", "date_from": "2026-01-01", "date_to": "2026-06-30", "save_data": false})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got.as_array().unwrap().len(), 5);
    assert!(got[0]["determinacion_isr"].is_object());
    for (body, field, code) in [
        (
            json!({"link": pid, "type": "weekly", "year_from": "2024", "year_to": "2025"}),
            "type",
            "invalid_choice",
        ),
        (
            json!({"link": pid, "type": "yearly", "year_from": "24", "year_to": "2025"}),
            "year_from",
            "invalid",
        ),
        (
            json!({"link": pid, "type": "yearly", "year_from": "2025", "year_to": "2024"}),
            "year_from",
            "invalid",
        ),
        (
            json!({"link": pid, "type": "yearly", "year_from": "2024"}),
            "year_to",
            "required",
        ),
        (
            json!({"link": pid, "type": "monthly", "date_to": "2026-01-31"}),
            "date_from",
            "required",
        ),
        (
            json!({"link": pid, "type": "monthly", "date_from": "2026-01-01", "date_to": "2099-12-31"}),
            "date_to",
            "invalid",
        ),
    ] {
        let (s, e) = post(body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(
            (e[0]["field"].as_str(), e[0]["code"].as_str()),
            (Some(field), Some(code)),
            "{body}"
        );
    }

    // One historical update per type, each counting what the list serves.
    let hooks = emu.handle.control().webhooks();
    let mut tax: Vec<&Value> = hooks
        .iter()
        .map(|w| &w.event)
        .filter(|e| e["link_id"] == pid.as_str() && e["webhook_type"] == "TAX_RETURNS")
        .collect();
    tax.sort_by_key(|e| e["data"]["type"].as_str().unwrap_or("").to_owned());
    assert_eq!(tax.len(), 2, "{tax:#?}");
    assert_eq!(
        tax[0]["data"],
        json!({"type": "monthly", "total_tax_returns": 12, "first_tax_return_year": 2025, "last_tax_return_year": 2026})
    );
    assert_eq!(
        tax[1]["data"],
        json!({"type": "yearly", "total_tax_returns": 3, "first_tax_return_year": 2023, "last_tax_return_year": 2025})
    );
}

/// Retrieve windows and list filters as the spec has them: balances by date (and account), tax
/// retentions by date and type, transactions by the account's type, institutions by all of
/// several resources, and no `date_to` in the future.
#[tokio::test]
async fn retrieve_windows_and_filters_follow_belvo() {
    let emu = start().await;
    let link = emu.link("erebor_mx_retail", "window_user", "pw").await;
    let id = link["id"].as_str().unwrap();
    let (s, got) = emu
        .post(
            "/api/balances/",
            json!({"link": id, "date_from": "2026-06-21", "date_to": "2026-06-30"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{got}");
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 30, "ten days of three accounts");
    assert!(
        got.iter()
            .all(|b| ("2026-06-21".."2026-07-01").contains(&b["value_date"].as_str().unwrap()))
    );
    let account = got[0]["account"]["id"].as_str().unwrap();
    let (_, one) = emu
        .post("/api/balances/", json!({"link": id, "date_from": "2026-06-21", "date_to": "2026-06-30", "account": account}))
        .await;
    assert_eq!(one.as_array().unwrap().len(), 10);
    assert!(
        one.as_array()
            .unwrap()
            .iter()
            .all(|b| b["account"]["id"] == account)
    );

    // `account_type`: the type the institution gives the transaction's account.
    let checking = emu
        .all(&format!(
            "/api/transactions/?link={id}&page_size=1000&account_type=Cuentas%20de%20efectivo"
        ))
        .await;
    assert_eq!(checking.len(), 40);
    assert!(
        checking
            .iter()
            .all(|t| t["account"]["type"] == "Cuentas de efectivo")
    );
    let two = emu
        .all(&format!("/api/transactions/?link={id}&page_size=1000&account_type__in=Ahorro,Cuentas%20de%20efectivo"))
        .await;
    assert_eq!(two.len(), 80);

    // `resources__allin` with two and more values.
    let both = emu
        .all("/api/institutions/?resources__allin=ACCOUNTS,OWNERS")
        .await;
    assert!(!both.is_empty());
    assert!(both.iter().all(|i| {
        let r = i["resources"].as_array().unwrap();
        r.contains(&json!("ACCOUNTS")) && r.contains(&json!("OWNERS"))
    }));
    let three = emu
        .all("/api/institutions/?resources__allin=TAX_RETURNS,INVOICES,TAX_STATUS")
        .await;
    let names: Vec<&str> = three.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tatooine_mx_fiscal"]);
    assert!(
        emu.all("/api/institutions/?resources__allin=ACCOUNTS,INVOICES")
            .await
            .is_empty()
    );

    // Tax retentions: the window on `issued_at` and the type (received or sent invoices).
    let fiscal = emu.link("tatooine_mx_fiscal", "PFIS010101000", "pw").await;
    let fid = fiscal["id"].as_str().unwrap();
    let retentions = |from: &str, to: &str, kind: &str| {
        let emu = &emu;
        let body = json!({"link": fid, "date_from": from, "date_to": to, "type": kind});
        async move {
            let (s, v) = emu.post("/api/tax-retentions/", body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v.as_array().unwrap().clone()
        }
    };
    let inflow = retentions("2025-07-01", "2026-06-30", "INFLOW").await;
    let outflow = retentions("2025-07-01", "2026-06-30", "outflow").await;
    assert_eq!((inflow.len(), outflow.len()), (3, 3));
    assert!(inflow.iter().all(|r| r["receiver_id"] == "PFIS010101000"));
    assert!(outflow.iter().all(|r| r["sender_id"] == "PFIS010101000"));
    let narrow = retentions("2026-05-01", "2026-06-30", "INFLOW").await;
    assert_eq!(narrow.len(), 1);
    assert!(narrow[0]["issued_at"].as_str().unwrap() >= "2026-05-01");
    let (s, e) = emu
        .post("/api/tax-retentions/", json!({"link": fid, "date_from": "2026-01-01", "date_to": "2026-06-30", "type": "SIDEWAYS"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e[0]["code"], "invalid_choice");

    // `date_to` cannot be in the future.
    for (path, body) in [
        (
            "transactions",
            json!({"link": id, "date_from": "2026-06-01", "date_to": "2099-01-01"}),
        ),
        (
            "balances",
            json!({"link": id, "date_from": "2026-06-01", "date_to": "2099-01-01"}),
        ),
        (
            "invoices",
            json!({"link": fid, "date_from": "2098-06-01", "date_to": "2099-01-01", "type": "INFLOW"}),
        ),
        (
            "tax-retentions",
            json!({"link": fid, "date_from": "2026-06-01", "date_to": "2099-01-01", "type": "INFLOW"}),
        ),
        (
            "incomes",
            json!({"link": id, "date_from": "2026-01-01", "date_to": "2099-01-01"}),
        ),
    ] {
        let (s, e) = emu.post(&format!("/api/{path}/"), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {e}");
        assert_eq!(e[0]["code"], "invalid", "{path}");
        assert_eq!(e[0]["field"], "date_to", "{path}");
    }
}

/// "If we identify that the identifier contains PII, we will force a `null` value": e-mails,
/// phone and document numbers, CURPs and RFCs become `null`, on the link and in its webhooks.
#[tokio::test]
async fn pii_looking_external_ids_are_nulled() {
    let emu = start().await;
    for (i, (external_id, kept)) in [
        ("juan.perez@example.com", false),
        ("5512345678", false),
        ("+52 55 1234 5678", false),
        ("761.092.776-73", false),
        ("GODE561231HDFRRN09", false),
        ("PFIS010101000", false),
        ("user_PFIS010101000", false),
        ("user-123", true),
        ("56ab5706-6e00-48a4-91c9-ca55968678d9", true),
        ("Z3Vlc3NfdGhlX2tleV9ub3RfaGVyZV9hYmNkZWZnaGk", true),
    ]
    .into_iter()
    .enumerate()
    {
        let (s, link) = emu
            .post(
                "/api/links/",
                json!({"institution": "erebor_mx_retail", "username": format!("pii_{i}"),
                       "password": "pw", "external_id": external_id}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{link}");
        let want = if kept {
            json!(external_id)
        } else {
            Value::Null
        };
        assert_eq!(link["external_id"], want, "{external_id}");
        let id = link["id"].as_str().unwrap();
        let hooks = emu.handle.control().webhooks();
        let mine: Vec<_> = hooks.iter().filter(|w| w.event["link_id"] == id).collect();
        assert!(!mine.is_empty());
        assert!(
            mine.iter().all(|w| w.event["external_id"] == want),
            "{external_id}"
        );
    }
    // Through the widget, from the token's external_id.
    let (_, t) = emu
        .post(
            "/api/token/",
            token_body(json!({"external_id": "ana@example.mx"})),
        )
        .await;
    let (s, link) = emu
        .widget_link(
            &t["access"],
            json!({"institution": "erebor_mx_retail", "username": "pii_widget", "password": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(link.is_object(), "{link}");
    assert!(link["external_id"].is_null(), "{link}");
}
