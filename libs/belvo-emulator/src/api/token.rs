//! `POST /api/token/`: widget access tokens. The body is validated as Belvo does (keys in the
//! body, scopes, `fetch_resources`, `stale_in`, `credentials_storage`, update mode with
//! `link_id`); tokens are HS512-shaped JWTs valid for ten minutes and spent by the link they
//! create.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AccountId, parse_body, parse_uuid};
use crate::error::{ApiError, json_response};
use crate::links::parse_fetch_resources;
use crate::state::{Shared, WidgetToken};

pub(super) async fn create_token_handler(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    body: axum::body::Bytes,
) -> Response {
    match parse_body(&body).and_then(|b| create_token(&s, acct, &b)) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

fn opt_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(key, "Not a valid string.")),
    }
}

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// `fetch_resources_ofda_brazil`.
const OFDA_FETCH_RESOURCES: &[&str] = &[
    "ACCOUNTS",
    "TRANSACTIONS",
    "OWNERS",
    "BILLS",
    "INVESTMENTS",
    "INVESTMENT_TRANSACTIONS",
    "EXCHANGES",
    "INCOMES",
    "RECURRING_EXPENSES",
    "RISK_INSIGHTS",
];

/// The rest of Belvo's token schemas' `fetch_resources` values (1.223.0: employment Brazil and
/// Mexico, fiscal Mexico), plus the legacy `BALANCES`. With [`OFDA_FETCH_RESOURCES`], every
/// value a token that is not an Open Finance link-creation token accepts.
const OTHER_FETCH_RESOURCES: &[&str] = &[
    "EMPLOYMENTS",
    "EMPLOYMENT_RECORDS",
    "CURRENT_EMPLOYMENTS",
    "EMPLOYMENT_METRICS",
    "FINANCIAL_STATEMENTS",
    "INVOICES",
    "TAX_COMPLIANCE_STATUS",
    "TAX_RETENTIONS",
    "TAX_RETURNS",
    "TAX_STATUS",
    "BALANCES",
];

/// An Open Finance token's `widget.openfinance_feature` must be `wanted`, and it needs
/// `widget.callback_urls`.
fn require_feature(
    feature: Option<&str>,
    wanted: &str,
    has_callbacks: bool,
) -> Result<(), ApiError> {
    match feature {
        None => return Err(ApiError::required("widget.openfinance_feature")),
        Some(f) if f == wanted => {}
        Some(other) => {
            return Err(ApiError::invalid_choice(
                "widget.openfinance_feature",
                other,
            ));
        }
    }
    if !has_callbacks {
        return Err(ApiError::required("widget.callback_urls"));
    }
    Ok(())
}

/// The Open Finance consent scopes.
const CONSENT_SCOPES: &[&str] = &[
    "read_consents",
    "write_consents",
    "write_consent_callback",
    "delete_consents",
];

/// The My Belvo Portal's scope set (consent management, no link creation).
const PORTAL_SCOPES: &[&str] = &["read_consents", "write_consents", "write_consent_callback"];

/// `widget.consent.permissions`: exactly these four.
const OFDA_PERMISSIONS: &[&str] = &["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"];

/// An object at `path` (dotted) inside `body`; `Ok(None)` when absent or null.
fn object<'a>(v: Option<&'a Value>, path: &str) -> Result<Option<&'a Value>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(_) => Err(ApiError::invalid(path, "Expected an object.")),
    }
}

/// A non-empty string at `parent.key`; `Ok(None)` when absent or null.
fn string<'a>(parent: &'a Value, path: &str, key: &str) -> Result<Option<&'a str>, ApiError> {
    let field = format!("{path}.{key}");
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "null",
            "This field may not be blank.",
        )
        .field(&field)),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(&field, "Not a valid string.")),
    }
}

fn required_string<'a>(parent: &'a Value, path: &str, key: &str) -> Result<&'a str, ApiError> {
    string(parent, path, key)?.ok_or_else(|| ApiError::required(&format!("{path}.{key}")))
}

fn required_url(parent: &Value, path: &str, key: &str) -> Result<(), ApiError> {
    let v = required_string(parent, path, key)?;
    match url::Url::parse(v) {
        Ok(_) => Ok(()),
        Err(_) => Err(ApiError::invalid(
            &format!("{path}.{key}"),
            "Enter a valid URL.",
        )),
    }
}

/// `widget.branding`: the four company fields are required.
fn check_branding(branding: &Value) -> Result<(), ApiError> {
    const P: &str = "widget.branding";
    required_url(branding, P, "company_icon")?;
    required_url(branding, P, "company_logo")?;
    required_string(branding, P, "company_name")?;
    required_url(branding, P, "company_terms_url")?;
    Ok(())
}

/// `widget.callback_urls`: `success`, `exit` and `event`.
fn check_callback_urls(urls: &Value) -> Result<(), ApiError> {
    for key in ["success", "exit", "event"] {
        required_string(urls, "widget.callback_urls", key)?;
    }
    Ok(())
}

/// `widget.consent.identification_info`: one or two `{type: CPF|CNPJ, number, name}`.
fn check_identification(consent: &Value) -> Result<(), ApiError> {
    const F: &str = "widget.consent.identification_info";
    let items = match consent.get("identification_info") {
        None | Some(Value::Null) => return Err(ApiError::required(F)),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_a_list",
                "Expected a list of items.",
            )
            .field(F));
        }
    };
    if items.is_empty() || items.len() > 2 {
        return Err(ApiError::invalid(
            F,
            "Ensure this field has between 1 and 2 elements.",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let path = format!("{F}[{i}]");
        if !item.is_object() {
            return Err(ApiError::invalid(&path, "Expected an object."));
        }
        let kind = required_string(item, &path, "type")?;
        if !matches!(kind, "CPF" | "CNPJ") {
            return Err(ApiError::invalid_choice(&format!("{path}.type"), kind));
        }
        required_string(item, &path, "number")?;
        required_string(item, &path, "name")?;
    }
    Ok(())
}

/// `widget.consent` of an OFDA link-creation token.
fn check_consent(consent: &Value) -> Result<(), ApiError> {
    const P: &str = "widget.consent";
    let purpose = required_string(consent, P, "purpose")?;
    if purpose.chars().count() > 140 {
        return Err(ApiError::invalid(
            "widget.consent.purpose",
            "Ensure this field has no more than 140 characters.",
        ));
    }
    required_url(consent, P, "terms_and_conditions_url")?;
    let permissions = match consent.get("permissions") {
        None | Some(Value::Null) => return Err(ApiError::required("widget.consent.permissions")),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_a_list",
                "Expected a list of items.",
            )
            .field("widget.consent.permissions"));
        }
    };
    let mut seen: Vec<&str> = Vec::new();
    for p in permissions {
        let Some(p) = p.as_str() else {
            return Err(ApiError::invalid(
                "widget.consent.permissions",
                "Expected a list of strings.",
            ));
        };
        if !OFDA_PERMISSIONS.contains(&p) {
            return Err(ApiError::invalid_choice("widget.consent.permissions", p));
        }
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    if seen.len() != OFDA_PERMISSIONS.len() || permissions.len() != OFDA_PERMISSIONS.len() {
        return Err(ApiError::invalid(
            "widget.consent.permissions",
            "The permissions must be exactly REGISTER, ACCOUNTS, CREDIT_CARDS and CREDIT_OPERATIONS.",
        ));
    }
    check_identification(consent)?;
    match consent.get("default_consent_duration_days") {
        None | Some(Value::Null) => {}
        Some(d)
            if [92, 183, 275, 366]
                .iter()
                .any(|x| d.as_f64() == Some(f64::from(*x))) => {}
        Some(d) => {
            return Err(ApiError::invalid_choice(
                "widget.consent.default_consent_duration_days",
                &d.to_string(),
            ));
        }
    }
    Ok(())
}

/// Creates a token for `acct` from a `POST /api/token/` body, validated against Belvo's
/// 1.223.0 token schemas: a link-creation token needs `stale_in`, `fetch_resources` and
/// `widget.branding` (company icon, logo, name and terms URL); an Open Finance (OFDA) one also
/// `widget.openfinance_feature`, `widget.callback_urls` and `widget.consent` (purpose, terms,
/// the four permissions, one or two identifications). A My Belvo Portal token (consent scopes
/// without `write_links`) needs `openfinance_feature: consent_management`, its callback URLs
/// and the user's identification. An update-mode token (`link_id`, documented apart from the
/// spec's schemas with only keys, scopes and the link) needs none of them; whatever it sends is
/// checked the same way.
pub(super) fn create_token(s: &Shared, acct: usize, body: &Value) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "parse_error",
            "JSON parse error - Expecting an object",
        ));
    }
    let account = &s.config.accounts[acct];
    let id = opt_str(body, "id")?.ok_or_else(|| ApiError::required("id"))?;
    let password = opt_str(body, "password")?.ok_or_else(|| ApiError::required("password"))?;
    if id != account.secret_id || password != account.secret_password {
        return Err(ApiError::unauthorized());
    }
    let scopes_s = opt_str(body, "scopes")?.ok_or_else(|| ApiError::required("scopes"))?;
    let scopes: Vec<String> = scopes_s
        .split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect();
    let has = |x: &str| scopes.iter().any(|s| s == x);
    let creates_links = has("write_links");
    let portal = !creates_links && PORTAL_SCOPES.iter().all(|x| has(x));
    if !creates_links && !portal {
        return Err(ApiError::invalid(
            "scopes",
            "The scopes must include write_links (links) or read_consents,write_consents,write_consent_callback (My Belvo Portal).",
        ));
    }
    let link_id = match opt_str(body, "link_id")? {
        Some(l) => {
            let id = parse_uuid("link_id", l)?;
            if s.store().own_link(acct, &id).is_none() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "does_not_exist",
                    format!("Invalid pk \"{id}\" - object does not exist."),
                )
                .field("link_id"));
            }
            Some(id)
        }
        None => None,
    };
    let update = link_id.is_some();
    let widget = object(body.get("widget"), "widget")?;
    let feature = match widget {
        Some(w) => string(w, "widget", "openfinance_feature")?,
        None => None,
    };
    if let Some(f) = feature
        && !matches!(f, "consent_link_creation" | "consent_management")
    {
        return Err(ApiError::invalid_choice("widget.openfinance_feature", f));
    }
    let ofda = feature.is_some() || CONSENT_SCOPES.iter().any(|x| has(x));

    // `fetch_resources`, `stale_in`, `credentials_storage`.
    let fetch_resources = parse_fetch_resources(body.get("fetch_resources"), None)?;
    if let Some(list) = &fetch_resources {
        let ofda_only = ofda && creates_links;
        let allowed = |r: &str| {
            OFDA_FETCH_RESOURCES.contains(&r) || (!ofda_only && OTHER_FETCH_RESOURCES.contains(&r))
        };
        if let Some(bad) = list.iter().find(|r| !allowed(r.as_str())) {
            return Err(ApiError::invalid_choice("fetch_resources", bad));
        }
    }
    let stale_in = opt_str(body, "stale_in")?.map(str::to_owned);
    if let Some(v) = &stale_in
        && !valid_days(v)
    {
        return Err(ApiError::invalid(
            "stale_in",
            format!("\"{v}\" does not match ^\\d{{1,3}}d$."),
        ));
    }
    let credentials_storage = opt_str(body, "credentials_storage")?.map(str::to_owned);
    if let Some(v) = &credentials_storage
        && !(v == "store" || v == "nostore" || valid_days(v))
    {
        return Err(ApiError::invalid(
            "credentials_storage",
            format!("\"{v}\" does not match ^(store|nostore|\\d{{1,3}}d)$."),
        ));
    }

    // The widget's parts, checked whenever they are sent.
    let branding = widget
        .map(|w| object(w.get("branding"), "widget.branding"))
        .transpose()?
        .flatten();
    let callback_urls = widget
        .map(|w| object(w.get("callback_urls"), "widget.callback_urls"))
        .transpose()?
        .flatten();
    let consent = widget
        .map(|w| object(w.get("consent"), "widget.consent"))
        .transpose()?
        .flatten();
    if let Some(b) = branding {
        check_branding(b)?;
    }
    if let Some(u) = callback_urls {
        check_callback_urls(u)?;
    }
    if let Some(theme) = widget.and_then(|w| w.get("theme"))
        && !theme.is_null()
    {
        let Some(items) = theme.as_array() else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "not_a_list",
                "Expected a list of items.",
            )
            .field("widget.theme"));
        };
        for (i, t) in items.iter().enumerate() {
            let path = format!("widget.theme[{i}]");
            if !t.is_object() {
                return Err(ApiError::invalid(&path, "Expected an object."));
            }
            required_string(t, &path, "css_key")?;
            required_string(t, &path, "value")?;
        }
    }

    // What each kind of token requires (update mode requires none of it).
    if !update && creates_links {
        if fetch_resources.is_none() {
            return Err(ApiError::required("fetch_resources"));
        }
        if stale_in.is_none() {
            return Err(ApiError::required("stale_in"));
        }
        if widget.is_none() {
            return Err(ApiError::required("widget"));
        }
        if branding.is_none() {
            return Err(ApiError::required("widget.branding"));
        }
    }
    if !update && creates_links && ofda {
        require_feature(feature, "consent_link_creation", callback_urls.is_some())?;
        check_consent(consent.ok_or_else(|| ApiError::required("widget.consent"))?)?;
    } else if let Some(c) = consent {
        check_identification(c)?;
    }
    if !update && portal {
        require_feature(feature, "consent_management", callback_urls.is_some())?;
        check_identification(consent.ok_or_else(|| ApiError::required("widget.consent"))?)?;
    }
    let widget = widget.cloned().unwrap_or(Value::Null);
    let external_id = opt_str(body, "external_id")?.map(str::to_owned);
    let now = chrono::Utc::now().timestamp();
    let ttl = s.config.widget_token_ttl;
    let (jti, rjti) = {
        let mut store = s.store();
        (store.next_hex(), store.next_hex())
    };
    let env = s.config.mode.environment();
    let claims = |kind: &str, exp: i64, jti: &str| {
        json!({"token_type": kind, "exp": exp, "iat": now, "jti": jti,
               "user_id": null, "organization_name": "Belvo emulator", "organization_id": null,
               "scopes": scopes, "environment": env, "api_url": "localhost",
               "credentials_storage": credentials_storage, "stale_in": stale_in,
               "fetch_resources": fetch_resources, "link_id": link_id, "iss": "belvo-emulator"})
    };
    let sign = |payload: &Value| {
        let header = b64(br#"{"alg":"HS512","typ":"JWT"}"#);
        let payload = b64(payload.to_string().as_bytes());
        let mut h = Sha256::new();
        h.update(s.config.seed.to_le_bytes());
        h.update(header.as_bytes());
        h.update(payload.as_bytes());
        let sig = h.finalize();
        format!(
            "{header}.{payload}.{}",
            b64(&[sig.as_slice(), sig.as_slice()].concat())
        )
    };
    let access = sign(&claims("access", now + ttl.as_secs() as i64, &jti));
    let refresh = sign(&claims("refresh", now + 620_000_000, &rjti));
    let mut store = s.store();
    // Forget tokens an hour past expiry (until then the hosted widget can still find their
    // callback URLs to report the expiry).
    let horizon = Instant::now();
    store
        .tokens
        .retain(|_, t| t.expires + std::time::Duration::from_secs(3600) > horizon);
    store.tokens.insert(
        access.clone(),
        WidgetToken {
            account: acct,
            scopes,
            link_id,
            fetch_resources,
            stale_in,
            credentials_storage,
            external_id,
            widget,
            expires: Instant::now() + ttl,
            used: false,
        },
    );
    Ok(json!({ "access": access, "refresh": refresh }))
}

fn valid_days(v: &str) -> bool {
    (2..=4).contains(&v.len())
        && v.ends_with('d')
        && v[..v.len() - 1].chars().all(|c| c.is_ascii_digit())
}
