//! Belvo's HTTP API on Belvo's paths: Basic auth against the configured accounts, `GET /api/`,
//! institutions, links (MFA, refresh, delete), widget tokens, and the data resources. Handlers
//! are thin: link logic lives in `crate::links`, lists in `crate::collection`.

mod resources;
mod token;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::collection::{Listing, Segment};
use crate::data::Resource;
use crate::error::{ApiError, bytes_response, json_response};
use crate::filters::{Filter, Query};
use crate::institutions;
use crate::links::{self, Resumed, TokenDefaults};
use crate::state::{LinkStatus, Shared};
use crate::webhooks;

pub(crate) use resources::retrieve;

/// The account whose secret keys authenticated the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountId(pub usize);

impl FromRequestParts<Shared> for AccountId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        basic_account(&parts.headers, state)
            .map(AccountId)
            .ok_or_else(ApiError::unauthorized)
    }
}

/// Decodes `Authorization: Basic` and finds the account.
pub(crate) fn basic_account(headers: &HeaderMap, state: &Shared) -> Option<usize> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, pw) = text.split_once(':')?;
    state.account_for(id, pw)
}

/// Scheme and host for absolute URLs.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl(pub String);

impl FromRequestParts<Shared> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        Ok(BaseUrl(base_url(&parts.headers, state)))
    }
}

pub(crate) fn base_url(headers: &HeaderMap, state: &Shared) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The JSON body, or Belvo's parse error.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "parse_error",
            format!("JSON parse error - {e}"),
        )
    })
}

pub(crate) fn parse_uuid(field: &str, s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::invalid(field, format!("“{s}” is not a valid UUID.")))
}

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/", get(index))
        .route("/api/token/", post(token::create_token_handler))
        .route("/api/institutions/", get(list_institutions))
        .route("/api/institutions/{id}/", get(get_institution))
        .route(
            "/api/links/",
            get(list_links).post(register_link).patch(resume_link),
        )
        .route(
            "/api/links/{id}/",
            get(get_link)
                .patch(modify_link)
                .put(update_link)
                .delete(delete_link),
        )
        .route("/api/links/{id}/refresh/", post(refresh_link))
        .route(
            "/api/{resource}/",
            get(resources::list)
                .post(resources::retrieve_handler)
                .patch(resources::resume_handler),
        )
        .route(
            "/api/{resource}/{id}/",
            get(resources::detail).delete(resources::delete),
        )
}

/// 405 with Belvo's body.
pub(crate) async fn method_not_allowed(method: axum::http::Method) -> Response {
    ApiError::method_not_allowed(method.as_str()).into_response()
}

/// 404 with Belvo's body.
pub(crate) async fn not_found() -> Response {
    ApiError::not_found().into_response()
}

async fn index(_acct: AccountId, base: BaseUrl) -> Response {
    let mut m = serde_json::Map::new();
    for p in ["institutions", "links", "token"] {
        m.insert(p.into(), json!(format!("{}/api/{p}/", base.0)));
    }
    for r in Resource::ALL {
        m.insert(
            r.path().into(),
            json!(format!("{}/api/{}/", base.0, r.path())),
        );
    }
    json_response(StatusCode::OK, &Value::Object(m))
}

/// Page number and size from the query, Belvo's defaults and clamp.
fn page_params(shared: &Shared, q: &Query) -> Result<(u64, u64), ApiError> {
    let default = shared.config.mode.default_page_size() as u64;
    let size = match q.page_size.as_deref().map(str::parse::<u64>) {
        Some(Ok(n)) if n >= 1 => n.min(1000),
        _ => default,
    };
    let page = match q.page.as_deref() {
        None => 1,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(invalid_page()),
        },
    };
    Ok((page, size))
}

fn invalid_page() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "Invalid page.")
}

/// The absolute URL of `page` of this list, keeping every other query parameter.
fn page_url(base: &str, uri: &Uri, q: &Query, page: u64) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.pairs {
        if k != "page" {
            ser.append_pair(k, v);
        }
    }
    if page > 1 {
        ser.append_pair("page", &page.to_string());
    }
    let qs = ser.finish();
    if qs.is_empty() {
        format!("{base}{}", uri.path())
    } else {
        format!("{base}{}?{qs}", uri.path())
    }
}

/// Writes Belvo's pagination envelope around one page of `listing`.
pub(crate) fn page_response(
    shared: &Shared,
    base: &str,
    uri: &Uri,
    q: &Query,
    listing: &Listing,
) -> Response {
    let (page, size) = match page_params(shared, q) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let count = listing.count();
    let offset = (page - 1).saturating_mul(size);
    if page > 1 && offset >= count {
        return invalid_page().into_response();
    }
    let next = (offset + size < count).then(|| page_url(base, uri, q, page + 1));
    let previous = (page > 1).then(|| page_url(base, uri, q, page - 1));
    let mut out = Vec::with_capacity(1024 + size as usize * 1536);
    out.extend_from_slice(format!("{{\"count\":{count},\"next\":").as_bytes());
    let _ = serde_json::to_writer(&mut out, &next);
    out.extend_from_slice(b",\"previous\":");
    let _ = serde_json::to_writer(&mut out, &previous);
    out.extend_from_slice(b",\"results\":[");
    if let Err(e) = listing.write_page(offset, size, Some(q), &mut out) {
        tracing::error!(error = %e, "cannot serialise a page");
        return ApiError::unexpected().into_response();
    }
    out.extend_from_slice(b"]}");
    bytes_response(StatusCode::OK, out)
}

/// A list of plain JSON objects (institutions, links) with filters and pagination.
fn value_page(shared: &Shared, base: &str, uri: &Uri, q: &Query, items: Vec<Value>) -> Response {
    let items: Vec<Value> = items
        .into_iter()
        .filter(|v| q.filters.iter().all(|f| f.matches(v)))
        .collect();
    let (page, size) = match page_params(shared, q) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let count = items.len() as u64;
    let offset = (page - 1).saturating_mul(size);
    if page > 1 && offset >= count {
        return invalid_page().into_response();
    }
    let results: Vec<Value> = items
        .into_iter()
        .skip(offset as usize)
        .take(size as usize)
        .map(|mut v| {
            q.trim(&mut v);
            v
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "count": count,
            "next": (offset + size < count).then(|| page_url(base, uri, q, page + 1)),
            "previous": (page > 1).then(|| page_url(base, uri, q, page - 1)),
            "results": results,
        }),
    )
}

async fn list_institutions(
    State(s): State<Shared>,
    _acct: AccountId,
    base: BaseUrl,
    uri: Uri,
) -> Response {
    let mut q = match Query::parse(uri.query()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    // Belvo's institution filters use singular names for array fields.
    for f in &mut q.filters {
        if f.path.first().map(String::as_str) == Some("country_code") {
            f.path = vec!["country_codes".into()];
        }
    }
    let mut special: Vec<Filter> = Vec::new();
    q.filters.retain(|f| {
        let keep = !matches!(
            f.path.first().map(String::as_str),
            Some("country_codes" | "resources")
        );
        if !keep {
            special.push(f.clone());
        }
        keep
    });
    let items: Vec<Value> = institutions::all()
        .iter()
        .filter(|i| {
            special.iter().all(|f| match f.path[0].as_str() {
                "country_codes" => f.values.iter().any(|c| c == i.country),
                _ => f.values.iter().all(|r| i.resources().contains(&r.as_str())),
            })
        })
        .map(|i| i.to_json())
        .collect();
    value_page(&s, &base.0, &uri, &q, items)
}

async fn get_institution(_acct: AccountId, Path(id): Path<String>) -> Response {
    let inst = id
        .parse::<i64>()
        .ok()
        .and_then(institutions::by_id)
        .or_else(|| institutions::by_name(&id));
    match inst {
        Some(i) => json_response(StatusCode::OK, &i.to_json()),
        None => ApiError::not_found().into_response(),
    }
}

async fn list_links(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    base: BaseUrl,
    uri: Uri,
) -> Response {
    let mut q = match Query::parse(uri.query()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    // `link` is a data-resource filter; on links it means nothing, `id` is the filter.
    q.links = None;
    let items: Vec<Value> = s
        .store()
        .links
        .iter()
        .filter(|l| l.account == acct)
        .map(|l| l.to_json())
        .collect();
    value_page(&s, &base.0, &uri, &q, items)
}

fn outcome(o: links::Outcome) -> Response {
    match o {
        Ok((status, body)) => json_response(status, &body),
        Err(e) => e.into_response(),
    }
}

async fn register_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    body: axum::body::Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    outcome(links::register(&s, acct, &body, &TokenDefaults::default()))
}

async fn resume_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    body: axum::body::Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match links::resume(&s, acct, &body) {
        Ok(Resumed::Link(v)) => json_response(StatusCode::OK, &v),
        Ok(Resumed::Retrieve { resource, body }) => retrieve(&s, acct, resource, &body, false),
        Err(e) => e.into_response(),
    }
}

fn link_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found())
}

async fn get_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = link_id(&id) else {
        return ApiError::not_found().into_response();
    };
    match s.store().own_link(acct, &id) {
        Some(l) => json_response(StatusCode::OK, &l.to_json()),
        None => ApiError::not_found().into_response(),
    }
}

async fn modify_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (id, body) = match (link_id(&id), parse_body(&body)) {
        (Ok(i), Ok(b)) => (i, b),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    outcome(links::modify(&s, acct, &id, &body))
}

async fn update_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (id, body) = match (link_id(&id), parse_body(&body)) {
        (Ok(i), Ok(b)) => (i, b),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    outcome(links::update_credentials(&s, acct, &id, &body, None))
}

fn is_async(headers: &HeaderMap) -> bool {
    // Case-sensitive, as Belvo documents: `ASYNC` means synchronous.
    headers
        .get("x-belvo-request-mode")
        .is_some_and(|v| v.as_bytes() == b"async")
}

/// Belvo allows five synchronous deletions a minute per account.
pub(crate) fn delete_allowed(s: &Shared, acct: usize) -> bool {
    let limit = s.config.delete_rate_per_minute;
    if limit == 0 {
        return true;
    }
    let now = Instant::now();
    let mut store = s.store();
    let q: &mut VecDeque<Instant> = store.deletes.entry(acct).or_default();
    while q
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        q.pop_front();
    }
    if q.len() as u32 >= limit {
        return false;
    }
    q.push_back(now);
    true
}

pub(crate) fn too_many_deletes() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "Request was throttled. You can delete at most 5 objects per minute.",
    )
}

async fn delete_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = link_id(&id) else {
        return ApiError::not_found().into_response();
    };
    if s.store().own_link(acct, &id).is_none() {
        return ApiError::not_found().into_response();
    }
    if is_async(&headers) {
        let request_id = crate::ids::request_id();
        webhooks::send(
            &s,
            webhooks::Event {
                webhook_type: "LINK".into(),
                webhook_code: "link_deleted".into(),
                process_type: None,
                link_id: id,
                request_id: Some(request_id.clone()),
                data: json!({}),
            },
        );
        s.store().remove_link(&id);
        return json_response(StatusCode::ACCEPTED, &json!({ "request_id": request_id }));
    }
    if !delete_allowed(&s, acct) {
        return too_many_deletes().into_response();
    }
    s.store().remove_link(&id);
    StatusCode::NO_CONTENT.into_response()
}

/// Status errors of data calls on a link that is not valid.
pub(crate) fn link_state_error(
    s: &Shared,
    link: &crate::state::Link,
    body: &Value,
    resource: Resource,
) -> Option<ApiError> {
    match link.status {
        LinkStatus::Valid => None,
        LinkStatus::Invalid => Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_link",
            "The link has been invalidated. You may need to update link credentials",
        )),
        LinkStatus::Unconfirmed => Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unconfirmed_link",
            "The link creation has not been completed yet",
        )),
        LinkStatus::TokenRequired => Some(links::start_mfa(
            s,
            link,
            crate::state::SessionPurpose::Retrieve {
                resource,
                body: body.clone(),
            },
        )),
    }
}

async fn refresh_link(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (id, body) = match (link_id(&id), parse_body(&body)) {
        (Ok(i), Ok(b)) => (i, b),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let Some(link) = s.store().own_link(acct, &id).cloned() else {
        return ApiError::not_found().into_response();
    };
    if let Some(e) = link_state_error(&s, &link, &body, Resource::Accounts) {
        return e.into_response();
    }
    let scope =
        match links::parse_fetch_resources(body.get("fetch_resources"), Some(&link.institution)) {
            Ok(Some(f)) => f,
            // "If you do not specify this parameter, the historical update will be performed
            // for all resources supported by the institution."
            Ok(None) => link
                .institution
                .resources()
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            Err(e) => return e.into_response(),
        };
    {
        let mut store = s.store();
        let Some(l) = store.link_mut(&id) else {
            return ApiError::not_found().into_response();
        };
        if let Some(t) = l.last_refresh {
            let cooldown = s.config.refresh_cooldown;
            let elapsed = t.elapsed();
            if elapsed < cooldown {
                let minutes = (cooldown - elapsed).as_secs().div_ceil(60);
                return ApiError::new(
                    StatusCode::CONFLICT,
                    "link_refreshed",
                    format!("The link has already been refreshed. Please wait {minutes} minutes before trying again."),
                )
                .into_response();
            }
        }
        l.last_refresh = Some(Instant::now());
        l.last_accessed_at = Some(chrono::Utc::now());
    }
    let request_id = crate::ids::request_id();
    // Belvo refreshes the historical data of each resource and tells it with one
    // `historical_update` each (two for tax returns), carrying the refresh's `request_id`.
    // What it announces is now the link's data, so nothing is pending for a recurrent notice.
    {
        let mut store = s.store();
        for name in &scope {
            if let Some(res) = Resource::from_fetch_name(name)
                && let Some(o) = store.overlays.get_mut(&(id, res))
            {
                o.new_since_notice = 0;
            }
        }
    }
    webhooks::send_historical(&s, id, &scope, Some(request_id.clone()));
    json_response(StatusCode::ACCEPTED, &json!({ "request_id": request_id }))
}

/// `new_<resource>_available` (Belvo's recurrent refresh) for each resource in `scope` with
/// objects added since the last notice; returns the `webhook_id`s sent.
pub(crate) fn send_new_available(s: &Shared, link: &Uuid, scope: &[String]) -> Vec<String> {
    let mut sent = Vec::new();
    for name in scope {
        let Some(res) = Resource::from_fetch_name(name) else {
            continue;
        };
        let n = {
            let mut store = s.store();
            match store.overlays.get_mut(&(*link, res)) {
                Some(o) if o.new_since_notice > 0 => std::mem::take(&mut o.new_since_notice),
                _ => 0,
            }
        };
        if n == 0 {
            continue;
        }
        if let Some(id) = webhooks::send(
            s,
            webhooks::Event {
                webhook_type: res.fetch_name().to_owned(),
                webhook_code: webhooks::new_code(res),
                process_type: Some("recurrent_update".into()),
                link_id: *link,
                request_id: None,
                data: webhooks::new_data(res, n),
            },
        ) {
            sent.push(id);
        }
    }
    sent
}

/// Builds the listing of `res` over the links selected by the query.
pub(crate) fn listing(
    s: &Shared,
    acct: usize,
    res: Resource,
    q: &Query,
) -> Result<Listing, ApiError> {
    let store = s.store();
    let wanted: Option<Vec<Uuid>> = match &q.links {
        Some(ids) => Some(
            ids.iter()
                .map(|i| parse_uuid("link", i))
                .collect::<Result<_, _>>()?,
        ),
        None => None,
    };
    let mut segments = Vec::new();
    for l in store.links.iter().filter(|l| l.account == acct) {
        if let Some(w) = &wanted
            && !w.contains(&l.id)
        {
            continue;
        }
        let overlay = store
            .overlays
            .get(&(l.id, res))
            .cloned()
            .unwrap_or_default();
        segments.push((l.ctx(s.as_of), overlay));
    }
    drop(store);
    Ok(Listing {
        segments: segments
            .into_iter()
            .map(|(ctx, overlay)| Segment::new(ctx, res, overlay, &q.filters))
            .collect(),
    })
}
