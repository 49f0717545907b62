//! Conformance: every endpoint the emulator serves answers bodies that validate against the
//! response schema of Belvo's official OpenAPI specs: 1.223.0 for current resources, 1.35.0
//! for the legacy Mexican banking shapes (accounts, transactions, balances, owners).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use belvo_emulator::{Account, Config, Emulator, LinkStatus};
use reqwest::Method;
use serde_json::{Map, Value, json};

const ID: &str = "conf-id";
const PW: &str = "conf-password";

fn spec(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../belvo/openapi")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("vendored spec")).unwrap()
}

/// Properties the spec types as non-nullable while its own text says Belvo may send `null`:
/// `external_id` ("If we identify that the identifier contains PII, we will force a `null`
/// value"). Every other property is nullable only where the spec says `nullable: true`.
const NULL_BY_DESCRIPTION: &[&str] = &["external_id"];

/// OpenAPI 3.0 schema → a strict JSON Schema draft 4: the spec's own `nullable` becomes a null
/// alternative, `allOf` compositions are merged into one object, every object with
/// `properties` and no `additionalProperties` of its own is closed (a key the spec does not
/// list fails), required keys must be present, and OpenAPI-only keywords go. `doc` resolves
/// the references an `allOf` merges.
fn convert(v: &Value, doc: &Value) -> Value {
    let mut v = v.clone();
    mark_nullable(&mut v);
    let v = close(&v, doc, 0);
    convert_inner(&v)
}

fn mark_nullable(v: &mut Value) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(mark_nullable),
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for (name, p) in props.iter_mut() {
                    if NULL_BY_DESCRIPTION.contains(&name.as_str())
                        && let Value::Object(pm) = p
                    {
                        pm.insert("nullable".into(), Value::Bool(true));
                    }
                }
            }
            m.values_mut().for_each(mark_nullable);
        }
        _ => {}
    }
}

/// `f` applied to `val`, or to each schema of it when `key` is `properties` (a map of property
/// names, which are data, not keywords: a property may be called `xml` or `example`).
fn each_property(key: &str, val: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match (key, val) {
        ("properties", Value::Object(props)) => Value::Object(
            props
                .iter()
                .map(|(name, schema)| (name.clone(), f(schema)))
                .collect(),
        ),
        _ => f(val),
    }
}

/// Resolves a local `$ref` in the raw document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match doc.pointer(r.trim_start_matches('#')) {
                Some(t) => v = t,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

/// Merges `allOf` parts into their parent and closes objects (see [`convert`]).
fn close(v: &Value, doc: &Value, depth: usize) -> Value {
    if depth > 32 {
        return v.clone();
    }
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| close(x, doc, depth)).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                if k != "allOf" {
                    out.insert(k.clone(), each_property(k, val, |x| close(x, doc, depth)));
                }
            }
            if let Some(Value::Array(parts)) = m.get("allOf") {
                for part in parts {
                    let part = resolve(doc, part);
                    let mut part = part.clone();
                    mark_nullable(&mut part);
                    let Value::Object(pm) = close(&part, doc, depth + 1) else {
                        continue;
                    };
                    for (k, val) in pm {
                        match (k.as_str(), out.get_mut(&k), val) {
                            ("properties", Some(Value::Object(have)), Value::Object(add)) => {
                                for (pk, pv) in add {
                                    have.entry(pk).or_insert(pv);
                                }
                            }
                            ("required", Some(Value::Array(have)), Value::Array(add)) => {
                                for r in add {
                                    if !have.contains(&r) {
                                        have.push(r);
                                    }
                                }
                            }
                            ("nullable", Some(have), add) => {
                                if add == Value::Bool(true) {
                                    *have = Value::Bool(true);
                                }
                            }
                            (_, Some(_), _) => {}
                            (_, None, val) => {
                                out.insert(k, val);
                            }
                        }
                    }
                }
            }
            // A key the schema requires is one of its keys, even where the spec forgot to list
            // it among the properties (`RiskInsightsAssetMetrics.num_accounts`).
            let required: Vec<String> = out
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = out.get_mut("properties") {
                for name in required {
                    props.entry(name).or_insert(json!({}));
                }
            }
            let closable = out.contains_key("properties")
                && !out.contains_key("additionalProperties")
                && !out.contains_key("oneOf")
                && !out.contains_key("anyOf");
            if closable {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn convert_inner(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(convert_inner).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                if matches!(
                    k.as_str(),
                    "example"
                        | "examples"
                        | "discriminator"
                        | "xml"
                        | "externalDocs"
                        | "deprecated"
                ) || k.starts_with("x-")
                {
                    continue;
                }
                out.insert(k.clone(), each_property(k, val, convert_inner));
            }
            let nullable = out.remove("nullable") == Some(Value::Bool(true));
            if nullable {
                if out.contains_key("$ref")
                    || out.contains_key("allOf")
                    || out.contains_key("oneOf")
                    || out.contains_key("anyOf")
                {
                    return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
                }
                if let Some(t) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(e)) = out.get_mut("enum")
                    && !e.contains(&Value::Null)
                {
                    e.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

struct Spec {
    doc: Value,
    components: Value,
}

impl Spec {
    fn load(name: &str) -> Spec {
        let doc = spec(name);
        let components = convert(&doc["components"], &doc);
        Spec { doc, components }
    }

    /// The response schema of an operation, or `None` if the spec does not declare it.
    fn response_schema(&self, path: &str, method: &str, status: u16) -> Option<Value> {
        let op = self.doc["paths"].get(path)?.get(method)?;
        let mut r = op["responses"].get(status.to_string())?.clone();
        while let Some(Value::String(rf)) = r.get("$ref") {
            let ptr = rf.trim_start_matches('#');
            r = self.doc.pointer(ptr)?.clone();
        }
        let schema = r.get("content")?.get("application/json")?.get("schema")?;
        let mut root = convert(schema, &self.doc);
        if let Value::Object(m) = &mut root {
            m.insert("components".into(), self.components.clone());
        }
        Some(root)
    }
}

struct Case {
    spec: &'static str,
    template: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, &'static str)>,
    status: u16,
    auth: bool,
}

fn case(
    spec: &'static str,
    template: &'static str,
    method: Method,
    path: String,
    status: u16,
) -> Case {
    Case {
        spec,
        template,
        method,
        path,
        body: None,
        headers: Vec::new(),
        status,
        auth: true,
    }
}

impl Case {
    fn body(mut self, b: Value) -> Case {
        self.body = Some(b);
        self
    }
    fn header(mut self, k: &'static str, v: &'static str) -> Case {
        self.headers.push((k, v));
        self
    }
    fn no_auth(mut self) -> Case {
        self.auth = false;
        self
    }
}

/// `GET url` with the account's credentials, as JSON.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url)
        .basic_auth(ID, Some(PW))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const CUR: &str = "belvo-openapi-1.223.0.json";
const OLD: &str = "belvo-openapi-1.35.0.json";

#[tokio::test]
async fn every_served_endpoint_validates_against_belvos_specs() {
    let emu = Emulator::start(Config {
        accounts: vec![Account::new(ID, PW)],
        data_as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        delete_rate_per_minute: 0,
        ..Config::for_tests()
    })
    .await
    .unwrap();
    let base = emu.url().to_owned();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            http.post(url)
                .basic_auth(ID, Some(PW))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let bank = post(
        "/api/links/",
        json!({"institution": "erebor_mx_retail", "username": "conf_bank", "password": "pw"}),
    )
    .await;
    let fiscal = post(
        "/api/links/",
        json!({"institution": "tatooine_mx_fiscal", "username": "PFIS010101000", "password": "pw"}),
    )
    .await;
    let emp = post(
        "/api/links/",
        json!({"institution": "planet_mx_employment", "username": "BLPM951331IONVGR54"}),
    )
    .await;
    let emp2 = post(
        "/api/links/",
        json!({"institution": "planet_mx_employment", "username": "BLPM951331IONVGR55"}),
    )
    .await;
    let spare = post(
        "/api/links/",
        json!({"institution": "gringotts_mx_retail", "username": "conf_spare", "password": "pw"}),
    )
    .await;
    let business = post(
        "/api/links/",
        json!({"institution": "tatooine_mx_fiscal", "username": "ABC1111111A1", "password": "pw"}),
    )
    .await;
    let biz = business["id"].as_str().unwrap().to_owned();
    let (b, f, e, sp) = (
        bank["id"].as_str().unwrap().to_owned(),
        fiscal["id"].as_str().unwrap().to_owned(),
        emp["id"].as_str().unwrap().to_owned(),
        spare["id"].as_str().unwrap().to_owned(),
    );
    let first_id = |res: &str, link: &str| {
        let http = http.clone();
        let url = format!("{base}/api/{res}/?link={link}");
        async move {
            let v = get_json(&http, url).await;
            v["results"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let mut cases = vec![
        case(CUR, "/api/institutions/", Method::GET, "/api/institutions/".into(), 200),
        case(CUR, "/api/institutions/{id}/", Method::GET, "/api/institutions/1003/".into(), 200),
        case(CUR, "/api/institutions/", Method::GET, "/api/institutions/".into(), 401).no_auth(),
        case(CUR, "/api/links/", Method::GET, "/api/links/".into(), 200),
        case(CUR, "/api/links/", Method::POST, "/api/links/".into(), 201)
            .body(json!({"institution": "erebor_mx_retail", "username": "conf_new", "password": "pw", "external_id": "ext-123"})),
        case(CUR, "/api/links/", Method::POST, "/api/links/".into(), 400)
            .body(json!({"institution": "erebor_mx_retail", "username": "conf_bank", "password": "pw"})),
        case(CUR, "/api/links/", Method::POST, "/api/links/".into(), 400)
            .body(json!({"institution": "erebor_mx_retail", "username": "user_invalid", "password": "pw"})),
        case(CUR, "/api/links/", Method::POST, "/api/links/".into(), 428)
            .body(json!({"institution": "gotham_mx_business", "username": "conf_mfa", "password": "pw"})),
        case(CUR, "/api/links/", Method::POST, "/api/links/".into(), 401).no_auth().body(json!({})),
        case(CUR, "/api/links/{id}/", Method::GET, format!("/api/links/{b}/"), 200),
        case(CUR, "/api/links/{id}/", Method::GET, "/api/links/6f1a6e0a-95d5-4b53-9d9e-2b0e2d7a1c11/".into(), 404),
        case(CUR, "/api/links/{id}/", Method::PATCH, format!("/api/links/{b}/"), 200).body(json!({"stale_in": "300d"})),
        case(CUR, "/api/links/{id}/", Method::PUT, format!("/api/links/{b}/"), 200).body(json!({"password": "new"})),
        case(CUR, "/api/links/{id}/refresh/", Method::POST, format!("/api/links/{b}/refresh/"), 202).body(json!({})),
        case(CUR, "/api/links/{id}/refresh/", Method::POST, format!("/api/links/{b}/refresh/"), 409).body(json!({})),
        case(CUR, "/api/links/{id}/", Method::DELETE, format!("/api/links/{sp}/"), 202).header("X-Belvo-Request-Mode", "async"),
        case(CUR, "/api/token/", Method::POST, "/api/token/".into(), 200)
            .body(json!({"id": ID, "password": PW, "scopes": "read_institutions,write_links", "fetch_resources": ["ACCOUNTS"], "stale_in": "365d",
                "widget": {"branding": {"company_icon": "https://acme.example/icon.svg", "company_logo": "https://acme.example/logo.svg",
                    "company_name": "ACME", "company_terms_url": "https://acme.example/terms"}}})),
        case(CUR, "/api/token/", Method::POST, "/api/token/".into(), 400)
            .body(json!({"id": ID, "password": PW, "scopes": "read_institutions,write_links", "fetch_resources": ["ACCOUNTS"]})),
        case(CUR, "/api/token/", Method::POST, "/api/token/".into(), 400).body(json!({"id": ID, "password": PW})),
        // Legacy Mexican banking shapes.
        case(OLD, "/api/accounts/", Method::GET, format!("/api/accounts/?link={b}"), 200),
        case(OLD, "/api/accounts/", Method::POST, "/api/accounts/".into(), 201).body(json!({"link": b})),
        case(OLD, "/api/transactions/", Method::GET, format!("/api/transactions/?link={b}"), 200),
        case(OLD, "/api/transactions/", Method::POST, "/api/transactions/".into(), 201)
            .body(json!({"link": b, "date_from": "2026-05-01", "date_to": "2026-06-30"})),
        case(CUR, "/api/transactions/", Method::POST, "/api/transactions/".into(), 202)
            .body(json!({"link": b, "date_from": "2026-05-01", "date_to": "2026-06-30"}))
            .header("X-Belvo-Request-Mode", "async"),
        case(OLD, "/api/balances/", Method::GET, format!("/api/balances/?link={b}"), 200),
        case(OLD, "/api/balances/", Method::POST, "/api/balances/".into(), 201)
            .body(json!({"link": b, "date_from": "2026-06-01", "date_to": "2026-06-30"})),
        case(OLD, "/api/owners/", Method::GET, format!("/api/owners/?link={b}"), 200),
        case(OLD, "/api/owners/", Method::POST, "/api/owners/".into(), 201).body(json!({"link": b})),
        case(CUR, "/api/incomes/", Method::GET, format!("/api/incomes/?link={b}"), 200),
        case(CUR, "/api/incomes/", Method::POST, "/api/incomes/".into(), 201).body(json!({"link": b})),
        case(CUR, "/api/recurring-expenses/", Method::GET, format!("/api/recurring-expenses/?link={b}"), 200),
        case(CUR, "/api/recurring-expenses/", Method::POST, "/api/recurring-expenses/".into(), 201).body(json!({"link": b})),
        case(CUR, "/api/risk-insights/", Method::GET, format!("/api/risk-insights/?link={b}"), 200),
        case(CUR, "/api/employment-records/", Method::GET, format!("/api/employment-records/?link={e}"), 200),
        case(CUR, "/api/employment-records/", Method::POST, "/api/employment-records/".into(), 201).body(json!({"link": e})),
        case(CUR, "/api/invoices/", Method::GET, format!("/api/invoices/?link={f}"), 200),
        case(CUR, "/api/invoices/", Method::POST, "/api/invoices/".into(), 201)
            .body(json!({"link": f, "date_from": "2025-07-01", "date_to": "2026-06-30", "type": "INFLOW"})),
        case(CUR, "/api/tax-returns/", Method::GET, format!("/api/tax-returns/?link={f}"), 200),
        case(CUR, "/api/tax-returns/", Method::POST, "/api/tax-returns/".into(), 201)
            .body(json!({"link": f, "type": "yearly", "year_from": "2024", "year_to": "2025"})),
        case(CUR, "/api/tax-returns/", Method::POST, "/api/tax-returns/".into(), 201)
            .body(json!({"link": f, "type": "monthly", "date_from": "2026-01-01", "date_to": "2026-06-30"})),
        case(CUR, "/api/tax-returns/", Method::GET, format!("/api/tax-returns/?link={biz}"), 200),
        case(CUR, "/api/tax-returns/", Method::POST, "/api/tax-returns/".into(), 201)
            .body(json!({"link": biz, "type": "yearly", "year_from": "2023", "year_to": "2025"})),
        case(CUR, "/api/tax-returns/", Method::POST, "/api/tax-returns/".into(), 201)
            .body(json!({"link": biz, "type": "monthly", "date_from": "2025-10-01", "date_to": "2026-06-30"})),
        case(CUR, "/api/tax-returns/", Method::POST, "/api/tax-returns/".into(), 400)
            .body(json!({"link": f, "type": "monthly", "date_from": "2026-01-01", "date_to": "2099-01-01"})),
        case(CUR, "/api/tax-status/", Method::GET, format!("/api/tax-status/?link={f}"), 200),
        case(CUR, "/api/tax-status/", Method::POST, "/api/tax-status/".into(), 201).body(json!({"link": f})),
        case(CUR, "/api/tax-compliance-status/", Method::GET, format!("/api/tax-compliance-status/?link={f}"), 200),
        case(CUR, "/api/tax-compliance-status/", Method::POST, "/api/tax-compliance-status/".into(), 201).body(json!({"link": f})),
        case(CUR, "/api/tax-retentions/", Method::GET, format!("/api/tax-retentions/?link={f}"), 200),
        case(CUR, "/api/tax-retentions/", Method::POST, "/api/tax-retentions/".into(), 201)
            .body(json!({"link": f, "date_from": "2025-07-01", "date_to": "2026-06-30", "type": "INFLOW"})),
    ];
    // Details of one object of every resource.
    for (spec_name, res, link) in [
        (OLD, "accounts", &b),
        (OLD, "transactions", &b),
        (OLD, "balances", &b),
        (OLD, "owners", &b),
        (CUR, "incomes", &b),
        (CUR, "recurring-expenses", &b),
        (CUR, "risk-insights", &b),
        (CUR, "employment-records", &e),
        (CUR, "invoices", &f),
        (CUR, "tax-returns", &f),
        (CUR, "tax-status", &f),
        (CUR, "tax-compliance-status", &f),
        (CUR, "tax-retentions", &f),
    ] {
        let id = first_id(res, link).await;
        let template: &'static str = Box::leak(format!("/api/{res}/{{id}}/").into_boxed_str());
        cases.push(case(
            spec_name,
            template,
            Method::GET,
            format!("/api/{res}/{id}/"),
            200,
        ));
    }
    // Every tax-return shape in detail: personal and business, yearly and monthly.
    for link in [&f, &biz] {
        let page = get_json(
            &http,
            format!("{base}/api/tax-returns/?link={link}&page_size=100"),
        )
        .await;
        let results = page["results"].as_array().unwrap();
        let yearly = results.iter().find(|r| r.get("type").is_none()).unwrap();
        let monthly = results.iter().find(|r| r["type"] == "monthly").unwrap();
        for r in [yearly, monthly] {
            cases.push(case(
                CUR,
                "/api/tax-returns/{id}/",
                Method::GET,
                format!("/api/tax-returns/{}/", r["id"].as_str().unwrap()),
                200,
            ));
        }
    }
    // An MFA resume on the links collection (428 → PATCH → 200).
    let mfa = post(
        "/api/links/",
        json!({"institution": "heimdall_mx_retail", "username": "conf_mfa2", "password": "pw"}),
    )
    .await;
    cases.push(
        case(CUR, "/api/links/", Method::PATCH, "/api/links/".into(), 428)
            .body(json!({"session": mfa[0]["session"], "token": "999999", "link": mfa[0]["link"]})),
    );
    cases.push(
        case(CUR, "/api/links/", Method::PATCH, "/api/links/".into(), 200)
            .body(json!({"session": mfa[0]["session"], "token": "111111", "link": mfa[0]["link"]})),
    );
    // An invalid link's data error.
    emu.control()
        .set_link_status(
            emp2["id"].as_str().unwrap().parse().unwrap(),
            LinkStatus::Invalid,
            false,
        )
        .unwrap();
    cases.push(
        case(
            CUR,
            "/api/employment-records/",
            Method::POST,
            "/api/employment-records/".into(),
            400,
        )
        .body(json!({"link": emp2["id"]})),
    );

    let specs = [(CUR, Spec::load(CUR)), (OLD, Spec::load(OLD))];
    // The converted schemas still reject wrong bodies (so a pass means something).
    let links_schema = specs[0]
        .1
        .response_schema("/api/links/", "get", 200)
        .unwrap();
    let v = jsonschema::draft4::new(&links_schema).unwrap();
    assert!(!v.is_valid(&json!({"count": "many", "results": [{"status": 7}]})));
    let tx_schema = specs[1]
        .1
        .response_schema("/api/transactions/{id}/", "get", 200)
        .unwrap();
    let v = jsonschema::draft4::new(&tx_schema).unwrap();
    assert!(!v.is_valid(&json!({"type": "SIDEWAYS", "amount": "lots"})));
    // Strict: a misspelled key, a missing required key, an extra key and a null where the spec
    // allows none each fail, while the emulator's own object passes.
    let account_schema = specs[1]
        .1
        .response_schema("/api/accounts/{id}/", "get", 200)
        .unwrap();
    let v = jsonschema::draft4::new(&account_schema).unwrap();
    let page = get_json(&http, format!("{base}/api/accounts/?link={b}")).await;
    let account = page["results"][0].clone();
    assert!(v.is_valid(&account), "{account}");
    let edit = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut a = account.clone();
        f(a.as_object_mut().unwrap());
        a
    };
    let misspelled = edit(&|m| {
        let c = m.remove("currency").unwrap();
        m.insert("curency".into(), c);
    });
    assert!(!v.is_valid(&misspelled), "a misspelled key passes");
    assert!(
        !v.is_valid(&edit(&|m| {
            m.remove("balance");
        })),
        "a missing required key passes"
    );
    assert!(
        !v.is_valid(&edit(&|m| {
            m.insert("nickname".into(), json!("x"));
        })),
        "an extra key passes"
    );
    assert!(
        !v.is_valid(&edit(&|m| {
            m.insert("collected_at".into(), Value::Null);
        })),
        "null in a non-nullable required field passes"
    );
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for c in &cases {
        let mut req = http.request(c.method.clone(), format!("{base}{}", c.path));
        if c.auth {
            req = req.basic_auth(ID, Some(PW));
        }
        for (k, v) in &c.headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = &c.body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let label = format!("{} {} → {} ({})", c.method, c.path, c.status, c.spec);
        if status != c.status {
            failures.push(format!("{label}: got status {status}: {body}"));
            continue;
        }
        let spec = &specs.iter().find(|(n, _)| *n == c.spec).unwrap().1;
        let Some(schema) =
            spec.response_schema(c.template, &c.method.as_str().to_lowercase(), status)
        else {
            failures.push(format!(
                "{label}: the spec declares no JSON body for this response"
            ));
            continue;
        };
        let validator = match jsonschema::draft4::new(&schema) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{label}: schema does not compile: {e}"));
                continue;
            }
        };
        // Belvo documents one key its error schemas lack: `institution_user_id` on the
        // `duplicated` error (belvo-api.md §4.4 and §7.1, from Belvo's errors article). It is
        // checked here and left out of the strict validation; no other extra key passes.
        let mut body = body;
        if let Some(errs) = body.as_array_mut() {
            for e in errs.iter_mut().filter(|e| e["code"] == "duplicated") {
                let iuid = e
                    .as_object_mut()
                    .and_then(|m| m.remove("institution_user_id"));
                if iuid.as_ref().and_then(Value::as_str).map(str::len) != Some(44) {
                    failures.push(format!(
                        "{label}: duplicated without a 44-character institution_user_id"
                    ));
                }
            }
        }
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .take(20)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            covered.insert(format!("{} {} {}", c.method, c.template, status));
        } else {
            failures.push(format!("{label}:\n    {}", errors.join("\n    ")));
        }
    }
    println!("validated {} responses:", covered.len());
    for c in &covered {
        println!("  {c}");
    }
    assert!(
        failures.is_empty(),
        "{} non-conforming responses:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(covered.len() >= 50, "{}", covered.len());
    emu.shutdown().await;
}
