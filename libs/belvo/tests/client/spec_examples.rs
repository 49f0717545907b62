//! Walks Belvo's two official OpenAPI specs: every example object of every resource we model
//! (the named examples, plus one synthesized from each response schema's property examples)
//! must decode, and for the shapes we follow every field must be known to our models (no key
//! silently ignored).

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use belvo::models;

fn spec(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("openapi")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

const CURRENT: &str = "belvo-openapi-1.223.0.json";
const LEGACY: &str = "belvo-openapi-1.35.0.json";

fn resolve<'a>(spec: &'a Value, mut v: &'a Value) -> &'a Value {
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        v = r
            .trim_start_matches("#/")
            .split('/')
            .fold(spec, |o, k| &o[k]);
    }
    v
}

/// A complete object for `schema`: property examples where given, typed placeholders elsewhere.
fn synthesize(spec: &Value, schema: &Value, depth: usize) -> Value {
    let s = resolve(spec, schema);
    if depth > 12 {
        return Value::Null;
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            if let Value::Object(m) = synthesize(spec, part, depth + 1) {
                merged.extend(m);
            }
        }
        if let Some(Value::Object(own)) = s.get("properties").map(|_| object(spec, s, depth)) {
            merged.extend(own);
        }
        return Value::Object(merged);
    }
    if let Some(first) = s.get("oneOf").or(s.get("anyOf")).and_then(|v| v.get(0)) {
        return synthesize(spec, first, depth + 1);
    }
    if s.get("properties").is_some() {
        return object(spec, s, depth);
    }
    if s["type"] == "array" {
        let item = resolve(spec, &s["items"]);
        if item.get("properties").is_some() || item.get("allOf").is_some() {
            return json!([synthesize(spec, item, depth + 1)]);
        }
    }
    if let Some(example) = s.get("example") {
        return example.clone();
    }
    if let Some(first) = s.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match (s["type"].as_str(), s["format"].as_str()) {
        (Some("string"), Some("date-time")) => json!("2022-02-09T08:45:50.406032Z"),
        (Some("string"), Some("date")) => json!("2022-02-09"),
        (Some("string"), Some("uuid")) => json!("30cb4806-6e00-48a4-91c9-ca55968576c8"),
        (Some("string"), _) => json!("text"),
        (Some("number"), _) => json!(12.5),
        (Some("integer"), _) => json!(3),
        (Some("boolean"), _) => json!(true),
        (Some("array"), _) => json!([synthesize(spec, &s["items"], depth + 1)]),
        _ => json!({}),
    }
}

fn object(spec: &Value, s: &Value, depth: usize) -> Value {
    let props = s["properties"].as_object().cloned().unwrap_or_default();
    Value::Object(
        props
            .iter()
            .map(|(k, p)| (k.clone(), synthesize(spec, p, depth + 1)))
            .collect(),
    )
}

/// Every example of the 2xx responses of `path` (list and detail), flattened to objects.
fn named_examples(spec: &Value, path: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in [path.to_owned(), format!("{path}{{id}}/")] {
        let Some(item) = spec["paths"].get(&p) else {
            continue;
        };
        for (method, op) in item.as_object().unwrap() {
            for (code, response) in op["responses"].as_object().into_iter().flatten() {
                if !code.starts_with('2') {
                    continue;
                }
                let examples = &resolve(spec, response)["content"]["application/json"]["examples"];
                for (name, example) in examples.as_object().into_iter().flatten() {
                    let value = &resolve(spec, example)["value"];
                    let objects = match value {
                        Value::Array(items) => items.clone(),
                        Value::Object(m) if m.contains_key("results") => {
                            m["results"].as_array().cloned().unwrap_or_default()
                        }
                        other => vec![other.clone()],
                    };
                    for o in objects {
                        out.push((format!("{method} {p} {code} {name}"), o));
                    }
                }
            }
        }
    }
    out
}

/// The schema of the detail endpoint's (or the list's) 200 response object.
fn response_schema<'a>(spec: &'a Value, path: &str) -> Option<&'a Value> {
    let detail = format!("{path}{{id}}/");
    let op = spec["paths"].get(&detail).and_then(|i| i.get("get"))?;
    let schema = &resolve(spec, &op["responses"]["200"])["content"]["application/json"]["schema"];
    (!schema.is_null()).then_some(schema)
}

/// Decodes `value` as `T`, returning the keys `T` does not know.
fn ignored_keys<T: DeserializeOwned>(value: &Value) -> Result<Vec<String>, String> {
    let mut ignored = Vec::new();
    let text = value.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_ignored::deserialize::<_, _, T>(&mut de, |path| ignored.push(path.to_string()))
        .map_err(|e| e.to_string())?;
    Ok(ignored)
}

/// `strict`: every key must be known (the shapes we follow); otherwise decoding is enough (the
/// other generation's shapes, e.g. Brazil's Open Finance banking, whose extra keys callers keep
/// in the raw JSON).
fn check<T: DeserializeOwned>(spec_name: &str, path: &str, strict: bool, min_examples: usize) {
    let spec = spec(spec_name);
    let mut cases = named_examples(&spec, path);
    if let Some(schema) = response_schema(&spec, path) {
        let mut synthesized = synthesize(&spec, schema, 0);
        if let Value::Array(mut items) = synthesized {
            synthesized = items.pop().unwrap_or_default();
        }
        cases.push((
            format!("synthesized from {path}{{id}}/ schema"),
            synthesized,
        ));
    }
    assert!(
        cases.len() >= min_examples,
        "{spec_name} {path}: only {} examples",
        cases.len()
    );
    let mut problems = Vec::new();
    for (name, value) in &cases {
        assert!(
            value.as_object().is_some_and(|o| o.len() > 2),
            "{name}: not an object: {value}"
        );
        match ignored_keys::<T>(value) {
            Err(e) => problems.push(format!("{spec_name} {name}: does not decode: {e}")),
            Ok(keys) if strict && !keys.is_empty() => {
                problems.push(format!("{spec_name} {name}: unknown keys {keys:?}"))
            }
            Ok(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn banking_follows_the_multi_region_shapes() {
    check::<models::Account>(LEGACY, "/api/accounts/", true, 6);
    check::<models::Transaction>(LEGACY, "/api/transactions/", true, 4);
    check::<models::Balance>(LEGACY, "/api/balances/", true, 2);
    check::<models::Owner>(LEGACY, "/api/owners/", true, 2);
}

#[test]
fn open_finance_banking_examples_still_decode() {
    check::<models::Account>(CURRENT, "/api/accounts/", false, 4);
    check::<models::Transaction>(CURRENT, "/api/transactions/", false, 1);
    check::<models::Owner>(CURRENT, "/api/owners/", false, 1);
}

#[test]
fn enrichment_in_both_generations() {
    for spec in [LEGACY, CURRENT] {
        check::<models::Income>(spec, "/api/incomes/", true, 1);
        check::<models::RiskInsights>(spec, "/api/risk-insights/", true, 1);
    }
    check::<models::RecurringExpense>(LEGACY, "/api/recurring-expenses/", true, 1);
    // The current spec embeds Brazil's Open Finance account in recurring expenses.
    check::<models::RecurringExpense>(CURRENT, "/api/recurring-expenses/", false, 1);
}

#[test]
fn employment_records_in_both_generations() {
    check::<models::EmploymentRecord>(LEGACY, "/api/employment-records/", true, 1);
    check::<models::EmploymentRecord>(CURRENT, "/api/employment-records/", true, 3);
}

#[test]
fn fiscal_in_both_generations() {
    for spec in [LEGACY, CURRENT] {
        check::<models::Invoice>(spec, "/api/invoices/", true, 5);
        check::<models::TaxReturn>(spec, "/api/tax-returns/", true, 5);
        check::<models::TaxStatus>(spec, "/api/tax-status/", true, 2);
        check::<models::TaxComplianceStatus>(spec, "/api/tax-compliance-status/", true, 1);
        check::<models::TaxRetention>(spec, "/api/tax-retentions/", true, 1);
    }
}

#[test]
fn links_and_institutions_in_both_generations() {
    for spec in [LEGACY, CURRENT] {
        check::<models::Link>(spec, "/api/links/", true, 1);
        check::<models::Institution>(spec, "/api/institutions/", true, 1);
    }
}

#[test]
fn the_walk_itself_notices_unknown_keys() {
    // Guard against a walk that could never fail: an extra key must be reported.
    let keys = ignored_keys::<models::Link>(
        &json!({"id": "30cb4806-6e00-48a4-91c9-ca55968576c8", "surprise": 1}),
    );
    assert_eq!(keys.unwrap(), ["surprise"]);
}
