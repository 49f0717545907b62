//! The data resources: list (GET, paginated and filtered), detail, delete, retrieve (POST, incl.
//! `X-Belvo-Request-Mode: async` → 202 and a webhook) and MFA resume (PATCH).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    AccountId, BaseUrl, is_async, link_state_error, listing, page_response, parse_body, parse_uuid,
};
use crate::collection::{Listing, Segment};
use crate::data::{self, Resource};
use crate::error::{ApiError, json_response};
use crate::filters::{Filter, Moment, Query};
use crate::links::{self, Resumed};
use crate::state::Shared;
use crate::webhooks;

fn resource(p: &str) -> Result<Resource, ApiError> {
    Resource::from_path(p).ok_or_else(ApiError::not_found)
}

pub(super) async fn list(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    base: BaseUrl,
    Path(res): Path<String>,
    uri: Uri,
) -> Response {
    let res = match resource(&res) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let mut q = match Query::parse(uri.query()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    q.alias(res.filter_aliases());
    if res.link_required() && q.links.is_none() {
        return ApiError::required("link").into_response();
    }
    match listing(&s, acct, res, &q) {
        Ok(l) => page_response(&s, &base.0, &uri, &q, &l),
        Err(e) => e.into_response(),
    }
}

/// Finds which of the account's links owns object `id` of `res`, and its index (or its
/// position among the added objects).
enum Found {
    Generated(Uuid, u64),
    Added(Uuid, usize),
}

fn find(s: &Shared, acct: usize, res: Resource, id: &Uuid) -> Option<Found> {
    let store = s.store();
    for l in store.links.iter().filter(|l| l.account == acct) {
        let overlay = store.overlays.get(&(l.id, res));
        if let Some(i) = data::object_index(&l.id, res, id)
            && i < data::len(&l.ctx(s.as_of), res)
            && !overlay.is_some_and(|o| o.deleted.contains(&i))
        {
            return Some(Found::Generated(l.id, i));
        }
        if let Some(o) = overlay
            && let Some(pos) = o
                .added
                .iter()
                .position(|v| v.get("id").and_then(Value::as_str) == Some(&id.to_string()))
        {
            return Some(Found::Added(l.id, pos));
        }
    }
    None
}

pub(super) async fn detail(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path((res, id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let res = match resource(&res) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return ApiError::not_found().into_response();
    };
    let q = match Query::parse(uri.query()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let mut v = match find(&s, acct, res, &id) {
        Some(Found::Generated(link, i)) => {
            let store = s.store();
            let Some(l) = store.link(&link) else {
                return ApiError::not_found().into_response();
            };
            let ctx = l.ctx(s.as_of);
            let overlay = store
                .overlays
                .get(&(link, res))
                .cloned()
                .unwrap_or_default();
            drop(store);
            let mut v = data::item(&ctx, res, i);
            if let (Some(p), Value::Object(m)) = (overlay.modified.get(&i), &mut v) {
                crate::collection::merge(m, p);
            }
            v
        }
        Some(Found::Added(link, pos)) => s
            .store()
            .overlays
            .get(&(link, res))
            .and_then(|o| o.added.get(pos).cloned())
            .unwrap_or(Value::Null),
        None => return ApiError::not_found().into_response(),
    };
    q.trim(&mut v);
    // Belvo's spec answers recurring expenses and risk insights details as arrays.
    let body = if matches!(res, Resource::RecurringExpenses | Resource::RiskInsights) {
        json!([v])
    } else {
        v
    };
    json_response(StatusCode::OK, &body)
}

pub(super) async fn delete(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path((res, id)): Path<(String, String)>,
) -> Response {
    let res = match resource(&res) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return ApiError::not_found().into_response();
    };
    let Some(found) = find(&s, acct, res, &id) else {
        return ApiError::not_found().into_response();
    };
    let limited = matches!(
        res,
        Resource::Accounts | Resource::Transactions | Resource::EmploymentRecords
    );
    if limited && !super::delete_allowed(&s, acct) {
        return super::too_many_deletes().into_response();
    }
    let mut store = s.store();
    match found {
        Found::Generated(link, i) => {
            store
                .overlays
                .entry((link, res))
                .or_default()
                .deleted
                .insert(i);
        }
        Found::Added(link, pos) => {
            if let Some(o) = store.overlays.get_mut(&(link, res)) {
                o.added.remove(pos);
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn retrieve_handler(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(res): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (res, body) = match (resource(&res), parse_body(&body)) {
        (Ok(r), Ok(b)) => (r, b),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    retrieve(&s, acct, res, &body, is_async(&headers))
}

pub(super) async fn resume_handler(
    State(s): State<Shared>,
    AccountId(acct): AccountId,
    Path(res): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (res, body) = match (resource(&res), parse_body(&body)) {
        (Ok(r), Ok(b)) => (r, b),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    if !res.supports_patch() {
        return ApiError::method_not_allowed("PATCH").into_response();
    }
    match links::resume(&s, acct, &body) {
        Ok(Resumed::Retrieve {
            resource,
            body: original,
        }) => {
            let save = body.get("save_data").and_then(Value::as_bool);
            let mut original = original;
            if let (Some(sd), Value::Object(m)) = (save, &mut original) {
                m.insert("save_data".into(), json!(sd));
            }
            retrieve(&s, acct, resource, &original, false)
        }
        Ok(Resumed::Link(v)) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

fn date_param(body: &Value, key: &str, required: bool) -> Result<Option<NaiveDate>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) if required => Err(ApiError::required(key)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() == 10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| bad_date(key)),
        Some(_) => Err(bad_date(key)),
    }
}

fn bad_date(key: &str) -> ApiError {
    ApiError::invalid(
        key,
        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
    )
}

/// A yearly tax-return bound (`year_from`, `year_to`): `^(19|20)\d{2}$`, as text or number.
fn year_param(body: &Value, key: &str) -> Result<i32, ApiError> {
    let text = match body.get(key) {
        None | Some(Value::Null) => return Err(ApiError::required(key)),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ApiError::invalid(key, "Not a valid string.")),
    };
    let ok = text.len() == 4
        && (text.starts_with("19") || text.starts_with("20"))
        && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<i32>() {
        Ok(y) if ok => Ok(y),
        _ => Err(ApiError::invalid(
            key,
            format!("\"{text}\" does not match ^(19|20)\\d{{2}}$."),
        )),
    }
}

/// What a tax-returns or tax-retentions retrieve selects beyond the collection's filters.
enum Selection {
    All,
    /// Yearly tax returns of `ejercicio` in the range.
    YearlyReturns(i32, i32),
    /// Monthly tax returns whose month overlaps the window.
    MonthlyReturns(NaiveDate, NaiveDate),
    /// Retentions of one direction, issued in the window.
    Retentions {
        inflow: bool,
        from: NaiveDate,
        to: NaiveDate,
        rfc: String,
    },
}

impl Selection {
    fn keeps(&self, v: &Value) -> bool {
        let monthly = v.get("type").and_then(Value::as_str) == Some("monthly");
        let ejercicio = v
            .pointer("/informacion_general/ejercicio")
            .and_then(Value::as_i64);
        match self {
            Selection::All => true,
            Selection::YearlyReturns(from, to) => {
                !monthly
                    && ejercicio.is_some_and(|y| (i64::from(*from)..=i64::from(*to)).contains(&y))
            }
            Selection::MonthlyReturns(from, to) => {
                let month = v
                    .pointer("/informacion_general/periodo_declaracion")
                    .and_then(Value::as_str)
                    .and_then(|p| data::MESES.iter().position(|m| m.eq_ignore_ascii_case(p)));
                let start = ejercicio
                    .zip(month)
                    .and_then(|(y, m)| NaiveDate::from_ymd_opt(y as i32, m as u32 + 1, 1));
                let first = from.with_day(1).unwrap_or(*from);
                monthly && start.is_some_and(|s| first <= s && s <= *to)
            }
            Selection::Retentions {
                inflow,
                from,
                to,
                rfc,
            } => {
                let side = if *inflow { "receiver_id" } else { "sender_id" };
                let issued = v
                    .get("issued_at")
                    .and_then(Value::as_str)
                    .and_then(Moment::parse)
                    .map(Moment::day);
                v.get(side).and_then(Value::as_str) == Some(rfc.as_str())
                    && issued.is_some_and(|d| *from <= d && d <= *to)
            }
        }
    }
}

/// `POST /api/<resource>/`: fetch from "the institution" now.
pub(crate) fn retrieve(
    s: &Shared,
    acct: usize,
    res: Resource,
    body: &Value,
    async_mode: bool,
) -> Response {
    match retrieve_inner(s, acct, res, body, async_mode) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn retrieve_inner(
    s: &Shared,
    acct: usize,
    res: Resource,
    body: &Value,
    async_mode: bool,
) -> Result<Response, ApiError> {
    let link_s = body
        .get("link")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::required("link"))?;
    let link_id = parse_uuid("link", link_s)?;
    let link = s.store().own_link(acct, &link_id).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "does_not_exist",
            format!("Invalid pk \"{link_id}\" - object does not exist."),
        )
        .field("link")
    })?;
    if link.institution.kind != res.kind() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_operation",
            "The resource you are trying to access is not supported by this institution",
        ));
    }
    // Tax returns: `type` picks yearly (`year_from`/`year_to`, the spec's default) or monthly
    // (`date_from`/`date_to`).
    let monthly_returns = if res == Resource::TaxReturns {
        match body.get("type") {
            None | Some(Value::Null) => false,
            Some(Value::String(t)) if t == "yearly" => false,
            Some(Value::String(t)) if t == "monthly" => true,
            Some(other) => {
                return Err(ApiError::invalid_choice(
                    "type",
                    other.as_str().unwrap_or(&other.to_string()),
                ));
            }
        }
    } else {
        false
    };
    let dates_required = res.needs_dates() || monthly_returns;
    let from = date_param(body, "date_from", dates_required)?;
    let to = date_param(body, "date_to", dates_required)?;
    // "The value of `date_to` cannot be greater than today's date" (the emulator's today: the
    // clock's UTC day, or `data_as_of` when that is later).
    let today = std::cmp::max(chrono::Utc::now().date_naive(), s.as_of);
    if let Some(t) = to
        && t > today
    {
        return Err(ApiError::invalid(
            "date_to",
            "date_to cannot be greater than today's date.",
        ));
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::invalid(
                "date_from",
                "date_from cannot be greater than date_to",
            ));
        }
        if res == Resource::Invoices && (t - f).num_days() > 365 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation_error",
                "Bad request",
            ));
        }
        if res == Resource::Incomes && (t - f).num_days() < 90 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_period",
                "The number of days between date_from and date_to must be at least 90 days",
            ));
        }
    }
    let years = if res == Resource::TaxReturns && !monthly_returns {
        let (yf, yt) = (year_param(body, "year_from")?, year_param(body, "year_to")?);
        if yf > yt {
            return Err(ApiError::invalid(
                "year_from",
                "year_from cannot be greater than year_to",
            ));
        }
        Some((yf, yt))
    } else {
        None
    };
    // Invoices take Belvo's upper-case `type`; tax retentions too, in any case (Belvo's own
    // Python SDK sends `inflow` / `outflow`).
    let flow = match res {
        Resource::Invoices | Resource::TaxRetentions => {
            let t = match body.get("type") {
                None | Some(Value::Null) => return Err(ApiError::required("type")),
                Some(Value::String(t)) => t.clone(),
                Some(other) => return Err(ApiError::invalid_choice("type", &other.to_string())),
            };
            let upper = if res == Resource::TaxRetentions {
                t.to_ascii_uppercase()
            } else {
                t.clone()
            };
            if !matches!(upper.as_str(), "INFLOW" | "OUTFLOW") {
                return Err(ApiError::invalid_choice("type", &t));
            }
            Some(upper)
        }
        _ => None,
    };
    if let Some(e) = link_state_error(s, &link, body, res) {
        return Err(e);
    }
    if let Some(l) = s.store().link_mut(&link_id) {
        l.last_accessed_at = Some(chrono::Utc::now());
    }
    if async_mode && res.supports_async() {
        let request_id = crate::ids::request_id();
        for data in webhooks::historical_data(s, &link_id, res) {
            webhooks::send(
                s,
                webhooks::Event {
                    webhook_type: res.fetch_name().into(),
                    webhook_code: "historical_update".into(),
                    process_type: Some("historical_update".into()),
                    link_id,
                    request_id: Some(request_id.clone()),
                    data,
                },
            );
        }
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "request_id": request_id }),
        ));
    }
    // The body's window, account and type become list filters where the objects carry them.
    let mut filters = Vec::new();
    let window_field = match res {
        Resource::Balances => Some("value_date"),
        other => other.date_field(),
    };
    if let (Some(field), Some(f), Some(t)) = (window_field, from, to) {
        filters.push(Filter::parse(
            &format!("{field}__range"),
            &format!("{f},{t}"),
        )?);
    }
    if matches!(res, Resource::Transactions | Resource::Balances)
        && let Some(a) = body.get("account").and_then(Value::as_str)
    {
        filters.push(Filter::parse("account", a)?);
    }
    if res == Resource::Invoices
        && let Some(t) = &flow
    {
        filters.push(Filter::parse("type", t)?);
    }
    let selection = match (res, years, from, to) {
        (Resource::TaxReturns, Some((yf, yt)), _, _) => Selection::YearlyReturns(yf, yt),
        (Resource::TaxReturns, None, Some(f), Some(t)) => Selection::MonthlyReturns(f, t),
        (Resource::TaxRetentions, _, Some(f), Some(t)) => Selection::Retentions {
            inflow: flow.as_deref() == Some("INFLOW"),
            from: f,
            to: t,
            rfc: data::rfc(&link.ctx(s.as_of)),
        },
        _ => Selection::All,
    };
    let overlay = s
        .store()
        .overlays
        .get(&(link_id, res))
        .cloned()
        .unwrap_or_default();
    let listing = Listing {
        segments: vec![Segment::new(link.ctx(s.as_of), res, overlay, &filters)],
    };
    let save = body
        .get("save_data")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let status = if save {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    if res.single_object() {
        let first = listing.values(0, 1).into_iter().next().ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unavailable_data",
                "The institution did not return any data for the request.",
            )
        })?;
        return Ok(json_response(status, &first));
    }
    if !matches!(selection, Selection::All) {
        // Small collections (tax returns, retentions): select in memory.
        let kept: Vec<Value> = listing
            .values(0, listing.count())
            .into_iter()
            .filter(|v| selection.keeps(v))
            .collect();
        return Ok(json_response(status, &Value::Array(kept)));
    }
    Ok(stream_array(status, listing))
}

/// Streams a JSON array chunk by chunk, so a retrieve of millions of objects keeps memory flat.
fn stream_array(status: StatusCode, listing: Listing) -> Response {
    const CHUNK: u64 = 500;
    let total = listing.count();
    let chunks = total.div_ceil(CHUNK);
    let stream = futures::stream::iter((0..=chunks).map(move |c| {
        let mut out = Vec::new();
        if c == 0 {
            out.push(b'[');
        }
        if c < chunks {
            if c > 0 {
                out.push(b',');
            }
            listing
                .write_page(c * CHUNK, CHUNK, None, &mut out)
                .map_err(std::io::Error::other)?;
        } else {
            out.push(b']');
        }
        Ok::<_, std::io::Error>(bytes::Bytes::from(out))
    }));
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}
