//! The Connect Widget: the script pages load instead of Belvo's CDN script
//! (`/belvo-widget-1-stable.js`), the hosted widget page (`/widget/?access_token=…`), and the
//! token-authenticated endpoints the browser calls under `/_widget/api/` (the browser never
//! holds secret keys). Link creation there runs the same code as `POST /api/links/`. Pages on
//! any origin load the script and call these endpoints, so they answer CORS (see
//! `crate::server`); Belvo's own `/api/` paths do not, as the real API does not.

use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::parse_body;
use crate::error::{ApiError, json_response};
use crate::institutions;
use crate::links::{self, Resumed, TokenDefaults};
use crate::state::{Shared, WidgetToken};

const SCRIPT: &str = include_str!("widget.js");
const HOSTED: &str = include_str!("hosted.html");

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/belvo-widget-1-stable.js", get(script))
        .route("/widget/", get(hosted))
        .route("/_widget/api/session", get(session))
        .route("/_widget/api/institutions", get(list_institutions))
        .route(
            "/_widget/api/links",
            axum::routing::post(create_link).patch(resume_link),
        )
        .route("/_widget/api/links/{id}", put(update_link))
}

async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn hosted() -> Response {
    let mut r = HOSTED.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn token_invalid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "ACCESS_TOKEN_NOT_VALID",
        "The access token was not provided or is not valid",
    )
}

/// A token without `write_links` (the My Belvo Portal's consent scopes) creates no link.
fn no_write_links() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "access_to_resource_denied",
        "You don't have access to this resource.",
    )
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

/// The widget token from `Authorization: Bearer …`, if still usable.
fn token(s: &Shared, headers: &HeaderMap) -> Result<(String, WidgetToken), ApiError> {
    let access = bearer(headers).ok_or_else(token_invalid)?;
    let store = s.store();
    let t = store.tokens.get(&access).ok_or_else(token_invalid)?;
    if t.used || t.expires <= Instant::now() {
        return Err(token_invalid());
    }
    Ok((access, t.clone()))
}

async fn session(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (_, t) = match token(&s, &headers) {
        Ok(t) => t,
        Err(e) => {
            // A spent or expired token still tells the hosted widget where to send its error.
            let urls = bearer(&headers).and_then(|a| {
                s.store()
                    .tokens
                    .get(&a)
                    .and_then(|t| t.widget.get("callback_urls").cloned())
            });
            return match urls {
                Some(u) => e.with("callback_urls", u).into_response(),
                None => e.into_response(),
            };
        }
    };
    let link = t
        .link_id
        .and_then(|id| s.store().link(&id).map(|l| l.to_json()));
    json_response(
        StatusCode::OK,
        &json!({
            "mode": if t.link_id.is_some() { "update" } else { "create" },
            "link": link,
            "scopes": t.scopes,
            "fetch_resources": t.fetch_resources,
            "external_id": t.external_id,
            "branding": t.widget.get("branding").cloned().unwrap_or(Value::Null),
            "callback_urls": t.widget.get("callback_urls").cloned().unwrap_or(Value::Null),
            "environment": s.config.mode.environment(),
        }),
    )
}

async fn list_institutions(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(e) = token(&s, &headers) {
        return e.into_response();
    }
    let pairs = crate::filters::pairs(uri.query());
    let list = |k: &str| -> Option<Vec<String>> {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.split(',')
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
    };
    let (countries, names, types) = (
        list("country_codes"),
        list("institutions"),
        list("institution_types"),
    );
    let items: Vec<Value> = institutions::all()
        .iter()
        .filter(|i| {
            countries
                .as_ref()
                .is_none_or(|c| c.iter().any(|x| x.eq_ignore_ascii_case(i.country)))
        })
        .filter(|i| names.as_ref().is_none_or(|n| n.iter().any(|x| x == i.name)))
        .filter(|i| {
            types.as_ref().is_none_or(|t| {
                t.iter().any(|x| {
                    x == i.segment
                        || x == i.kind.as_str()
                        || (x == "retail" && i.segment == "retail")
                })
            })
        })
        .map(|i| {
            let mut v = i.to_json();
            crate::data::set(&mut v, "segment", json!(i.segment));
            v
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "results": items }))
}

async fn create_link(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (access, t) = match token(&s, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if !t.scopes.iter().any(|x| x == "write_links") {
        return no_write_links().into_response();
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let defaults = TokenDefaults {
        token: Some(access),
        fetch_resources: t.fetch_resources.clone(),
        stale_in: t.stale_in.clone(),
        credentials_storage: t.credentials_storage.clone(),
        external_id: t.external_id.clone(),
    };
    match links::register(&s, t.account, &body, &defaults) {
        Ok((status, v)) => json_response(status, &v),
        Err(e) => e.into_response(),
    }
}

async fn resume_link(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (_, t) = match token(&s, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match links::resume(&s, t.account, &body) {
        Ok(Resumed::Link(v)) => json_response(StatusCode::OK, &v),
        Ok(Resumed::Retrieve { .. }) => ApiError::not_found().into_response(),
        Err(e) => e.into_response(),
    }
}

async fn update_link(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (access, t) = match token(&s, &headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return ApiError::not_found().into_response();
    };
    if t.link_id != Some(id) {
        return token_invalid().into_response();
    }
    if !t.scopes.iter().any(|x| x == "write_links") {
        return no_write_links().into_response();
    }
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match links::update_credentials(&s, t.account, &id, &body, Some(access)) {
        Ok((status, v)) => json_response(status, &v),
        Err(e) => e.into_response(),
    }
}
