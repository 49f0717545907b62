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

/// Creates a token for `acct` from a `POST /api/token/` body.
pub(super) fn create_token(s: &Shared, acct: usize, body: &Value) -> Result<Value, ApiError> {
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
    if !scopes.iter().any(|x| x == "write_links") {
        return Err(ApiError::invalid(
            "scopes",
            "The scopes must include write_links.",
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
    let fetch_resources = parse_fetch_resources(body.get("fetch_resources"), None)?;
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
    let widget = body.get("widget").cloned().unwrap_or(Value::Null);
    if !(widget.is_null() || widget.is_object()) {
        return Err(ApiError::invalid("widget", "Expected an object."));
    }
    if let Some(cb) = widget.get("callback_urls")
        && !cb.is_object()
    {
        return Err(ApiError::invalid(
            "widget.callback_urls",
            "Expected an object.",
        ));
    }
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
