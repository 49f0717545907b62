//! The control API: what tests and demos do to the emulator that Belvo offers no API for (link
//! status, data edits, webhooks on demand, data scale, faults, MFA expiry) and what they read
//! back (deliveries, received requests, requests the firewall refused). `Control` is the in-process handle; the same
//! operations are served as JSON under `/_emulator/`.

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::Scale;
use crate::data::{self, Resource, fmt_ts};
use crate::faults::{FaultRule, FaultSpec, FaultView};
use crate::firewall::FirewallView;
use crate::state::{LinkStatus, RequestRecord, Shared, WebhookRecord};
use crate::webhooks::{self, Event};

/// What a control operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no link {0}")]
    LinkNotFound(Uuid),
    #[error("no {0} object {1} in that link")]
    ObjectNotFound(&'static str, Uuid),
    #[error("unknown resource {0:?}")]
    UnknownResource(String),
    #[error("the link's institution has no {0}")]
    WrongKind(&'static str),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::LinkNotFound(_) | ControlError::ObjectNotFound(..) => {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// A webhook to send on demand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookTrigger {
    pub webhook_type: String,
    pub webhook_code: String,
    /// Defaults: counts for `historical_update`, pending count for `new_*_available`, Belvo's
    /// error for `LINK` codes, `{}` otherwise.
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub process_type: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// In-process handle to the control operations; cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    shared: Shared,
}

fn resource(name: &str) -> Result<Resource, ControlError> {
    Resource::from_path(name)
        .or_else(|| Resource::from_fetch_name(&name.to_uppercase()))
        .ok_or_else(|| ControlError::UnknownResource(name.to_owned()))
}

impl Control {
    pub(crate) fn new(shared: Shared) -> Control {
        Control { shared }
    }

    /// Every link, of every account, as Belvo's link object plus `account` and `profile`.
    pub fn links(&self) -> Vec<Value> {
        let store = self.shared.store();
        store
            .links
            .iter()
            .map(|l| {
                let mut v = l.to_json();
                data::set(&mut v, "account", json!(l.account));
                data::set(&mut v, "profile", json!(l.profile));
                data::set(&mut v, "scale", json!(l.scale));
                v
            })
            .collect()
    }

    pub fn link(&self, id: Uuid) -> Result<Value, ControlError> {
        self.links()
            .into_iter()
            .find(|l| l["id"] == json!(id))
            .ok_or(ControlError::LinkNotFound(id))
    }

    /// Sets a link's status; with `notify`, also sends the matching `LINK` webhook
    /// (`invalid` → `invalid_credentials`, `token_required` → `token_required`).
    pub fn set_link_status(
        &self,
        id: Uuid,
        status: LinkStatus,
        notify: bool,
    ) -> Result<Option<String>, ControlError> {
        {
            let mut store = self.shared.store();
            let l = store.link_mut(&id).ok_or(ControlError::LinkNotFound(id))?;
            l.status = status;
        }
        if !notify {
            return Ok(None);
        }
        let code = match status {
            LinkStatus::Invalid => "invalid_credentials",
            LinkStatus::TokenRequired => "token_required",
            _ => return Ok(None),
        };
        self.trigger_webhook(
            id,
            WebhookTrigger {
                webhook_type: "LINK".into(),
                webhook_code: code.into(),
                data: None,
                process_type: None,
                request_id: None,
            },
        )
        .map(Some)
    }

    /// Scale of one link (how many transactions and invoices it has).
    pub fn set_link_scale(&self, id: Uuid, scale: Scale) -> Result<(), ControlError> {
        let mut store = self.shared.store();
        let l = store.link_mut(&id).ok_or(ControlError::LinkNotFound(id))?;
        l.scale = scale;
        Ok(())
    }

    /// Scale given to links created from now on.
    pub fn set_default_scale(&self, scale: Scale) {
        self.shared.store().default_scale = scale;
    }

    pub fn default_scale(&self) -> Scale {
        self.shared.store().default_scale
    }

    /// Adds objects to a link's resource. Each is a generated object with the given fields
    /// merged over it and a fresh id; returns the stored objects.
    pub fn add_objects(
        &self,
        link: Uuid,
        res_name: &str,
        items: Vec<Value>,
    ) -> Result<Vec<Value>, ControlError> {
        let res = resource(res_name)?;
        let mut store = self.shared.store();
        let l = store.link(&link).ok_or(ControlError::LinkNotFound(link))?;
        if l.institution.kind != res.kind() {
            return Err(ControlError::WrongKind(res.path()));
        }
        let mut ctx = l.ctx(self.shared.as_of);
        // A full-profile base object even for links that have no data of their own.
        if data::len(&ctx, res) == 0 {
            ctx.profile = data::Profile::Full;
            ctx.scale = Scale {
                transactions: 1,
                invoices: 1,
            };
        }
        let mut out = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            let Value::Object(fields) = item else {
                return Err(ControlError::Invalid(
                    "each object must be a JSON object".into(),
                ));
            };
            let mut base = data::item(&ctx, res, k as u64 % data::len(&ctx, res).max(1));
            let id = store.next_uuid();
            if let Value::Object(m) = &mut base {
                crate::collection::merge(m, &fields);
                m.entry("id").or_insert(json!(id));
                if !fields.contains_key("id") {
                    m.insert("id".into(), json!(id));
                }
                m.insert("created_at".into(), json!(fmt_ts(chrono::Utc::now())));
            }
            out.push(base);
        }
        let overlay = store.overlays.entry((link, res)).or_default();
        for v in out.iter().rev() {
            overlay.added.insert(0, v.clone());
        }
        overlay.new_since_notice += out.len() as u64;
        Ok(out)
    }

    /// Changes fields of an object (generated or added). Changing the date that orders a
    /// generated collection re-adds the object in front, keeping its id.
    pub fn modify_object(
        &self,
        link: Uuid,
        res_name: &str,
        id: Uuid,
        patch: Map<String, Value>,
    ) -> Result<Value, ControlError> {
        let res = resource(res_name)?;
        let mut store = self.shared.store();
        let l = store.link(&link).ok_or(ControlError::LinkNotFound(link))?;
        let ctx = l.ctx(self.shared.as_of);
        let id_s = id.to_string();
        let overlay = store.overlays.entry((link, res)).or_default();
        if let Some(v) = overlay
            .added
            .iter_mut()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(&id_s))
        {
            if let Value::Object(m) = v {
                crate::collection::merge(m, &patch);
            }
            return Ok(v.clone());
        }
        let i = data::object_index(&link, res, &id)
            .filter(|i| *i < data::len(&ctx, res) && !overlay.deleted.contains(i))
            .ok_or(ControlError::ObjectNotFound(res.path(), id))?;
        let entry = overlay.modified.entry(i).or_default();
        crate::collection::merge(entry, &patch);
        let mut v = data::item(&ctx, res, i);
        if let Value::Object(m) = &mut v {
            crate::collection::merge(m, entry);
        }
        if let Some(field) = res.date_field()
            && patch.contains_key(field)
        {
            overlay.modified.remove(&i);
            overlay.deleted.insert(i);
            overlay.added.insert(0, v.clone());
        }
        Ok(v)
    }

    /// Deletes an object (generated or added).
    pub fn delete_object(&self, link: Uuid, res_name: &str, id: Uuid) -> Result<(), ControlError> {
        let res = resource(res_name)?;
        let mut store = self.shared.store();
        let l = store.link(&link).ok_or(ControlError::LinkNotFound(link))?;
        let ctx = l.ctx(self.shared.as_of);
        let id_s = id.to_string();
        let overlay = store.overlays.entry((link, res)).or_default();
        if let Some(pos) = overlay
            .added
            .iter()
            .position(|v| v.get("id").and_then(Value::as_str) == Some(&id_s))
        {
            overlay.added.remove(pos);
            return Ok(());
        }
        let i = data::object_index(&link, res, &id)
            .filter(|i| *i < data::len(&ctx, res) && !overlay.deleted.contains(i))
            .ok_or(ControlError::ObjectNotFound(res.path(), id))?;
        overlay.modified.remove(&i);
        overlay.deleted.insert(i);
        Ok(())
    }

    /// Sends any webhook for a link now; returns its `webhook_id` (a `historical_update` of tax
    /// returns without `data` sends Belvo's two, yearly and monthly, and returns the first id).
    pub fn trigger_webhook(&self, link: Uuid, t: WebhookTrigger) -> Result<String, ControlError> {
        let res = Resource::from_fetch_name(&t.webhook_type);
        let payloads = match (t.data, t.webhook_code.as_str(), res) {
            (Some(d), _, _) => vec![d],
            (None, "historical_update", Some(r)) => {
                let p = webhooks::historical_data(&self.shared, &link, r);
                if p.is_empty() {
                    return Err(ControlError::LinkNotFound(link));
                }
                p
            }
            (None, code, Some(r)) if code.starts_with("new_") => {
                let mut store = self.shared.store();
                let n = store
                    .overlays
                    .get_mut(&(link, r))
                    .map(|o| std::mem::take(&mut o.new_since_notice))
                    .unwrap_or(0);
                vec![webhooks::new_data(r, n)]
            }
            (None, "invalid_credentials", _) => vec![json!({"error_code": "login_error",
                "error_message": "Invalid credentials provided to login to the institution", "status": 400})],
            (None, "token_required", _) => vec![json!({"error_code": "token_required",
                "error_message": "A MFA token is required by the institution to login", "status": 428})],
            (None, _, _) => vec![json!({})],
        };
        let process_type = t.process_type.or_else(|| match t.webhook_code.as_str() {
            "historical_update" => Some("historical_update".into()),
            "link_deleted" => None,
            _ => Some("recurrent_update".into()),
        });
        let mut first = None;
        for data in payloads {
            let id = webhooks::send(
                &self.shared,
                Event {
                    webhook_type: t.webhook_type.clone(),
                    webhook_code: t.webhook_code.clone(),
                    process_type: process_type.clone(),
                    link_id: link,
                    request_id: t.request_id.clone(),
                    data,
                },
            )
            .ok_or(ControlError::LinkNotFound(link))?;
            first.get_or_insert(id);
        }
        first.ok_or(ControlError::LinkNotFound(link))
    }

    /// Belvo's scheduled refresh of a recurrent link: `new_<resource>_available`
    /// (`process_type: recurrent_update`) for each of the link's `fetch_resources` with objects
    /// added since the last such notice; returns the `webhook_id`s sent.
    pub fn recurrent_refresh(&self, link: Uuid) -> Result<Vec<String>, ControlError> {
        let scope = {
            let store = self.shared.store();
            store
                .link(&link)
                .ok_or(ControlError::LinkNotFound(link))?
                .fetch_resources
                .clone()
        };
        Ok(crate::api::send_new_available(&self.shared, &link, &scope))
    }

    /// Lets the next refresh of a link through without waiting for the cool-down.
    pub fn clear_refresh_cooldown(&self, link: Uuid) -> Result<(), ControlError> {
        let mut store = self.shared.store();
        let l = store
            .link_mut(&link)
            .ok_or(ControlError::LinkNotFound(link))?;
        l.last_refresh = None;
        Ok(())
    }

    /// Makes every open MFA session expired (the next PATCH gets `session_expired`).
    pub fn expire_mfa_sessions(&self) -> usize {
        let mut store = self.shared.store();
        let now = Instant::now();
        for s in store.sessions.values_mut() {
            s.expires = now;
        }
        store.sessions.len()
    }

    /// Makes every widget token expired.
    pub fn expire_widget_tokens(&self) -> usize {
        let mut store = self.shared.store();
        let now = Instant::now();
        for t in store.tokens.values_mut() {
            t.expires = now;
        }
        store.tokens.len()
    }

    pub fn add_fault(&self, spec: FaultSpec) -> u64 {
        let mut faults = self.shared.faults();
        let id = faults.iter().map(|f| f.id).max().unwrap_or(0) + 1;
        faults.push(FaultRule::new(id, spec));
        id
    }

    pub fn faults(&self) -> Vec<FaultView> {
        self.shared.faults().iter().map(FaultRule::view).collect()
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        let mut faults = self.shared.faults();
        let before = faults.len();
        faults.retain(|f| f.id != id);
        faults.len() != before
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Every webhook event with its delivery attempts, oldest first.
    pub fn webhooks(&self) -> Vec<WebhookRecord> {
        self.shared.store().webhooks.clone()
    }

    pub fn clear_webhooks(&self) {
        self.shared.store().webhooks.clear();
    }

    /// Waits until `pred` holds for the recorded webhooks, or `timeout` passes; returns them.
    pub async fn wait_for_webhooks(
        &self,
        timeout: Duration,
        pred: impl Fn(&[WebhookRecord]) -> bool,
    ) -> Result<Vec<WebhookRecord>, Vec<WebhookRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            let w = self.webhooks();
            if pred(&w) {
                return Ok(w);
            }
            if Instant::now() >= deadline {
                return Err(w);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The requests received (oldest first), control-API calls included.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests().iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        self.shared.requests().clear();
    }

    /// The firewall's limit and the requests it refused (HTML 403), in total and by source
    /// address.
    pub fn firewall(&self) -> FirewallView {
        self.shared.firewall().view()
    }

    /// Zeroes the refusal counts and forgets every address's window, so the next requests
    /// start a fresh one.
    pub fn reset_firewall(&self) {
        self.shared.firewall().reset();
    }

    /// Forgets links, tokens, sessions, edits, webhooks, requests and faults, and resets the
    /// firewall.
    pub fn reset(&self) {
        {
            let mut store = self.shared.store();
            store.links.clear();
            store.tokens.clear();
            store.sessions.clear();
            store.overlays.clear();
            store.webhooks.clear();
            store.deletes.clear();
            store.default_scale = self.shared.config.default_scale;
        }
        self.clear_faults();
        self.clear_requests();
        self.reset_firewall();
    }
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: LinkStatus,
    #[serde(default)]
    notify: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Objects {
    Many { items: Vec<Value> },
    One(Value),
}

fn uuid(s: &str) -> Result<Uuid, ControlError> {
    Uuid::parse_str(s).map_err(|_| ControlError::Invalid(format!("{s:?} is not a UUID")))
}

type R = Result<Response, ControlError>;

fn ok(v: Value) -> R {
    Ok(Json(v).into_response())
}

/// Routes of the control API.
pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/_emulator/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/links", get(links))
        .route("/_emulator/links/{id}", get(link))
        .route("/_emulator/links/{id}/status", post(set_status))
        .route("/_emulator/links/{id}/scale", put(set_link_scale))
        .route("/_emulator/links/{id}/webhooks", post(trigger))
        .route("/_emulator/links/{id}/cooldown", delete(clear_cooldown))
        .route(
            "/_emulator/links/{id}/recurrent-refresh",
            post(recurrent_refresh),
        )
        .route("/_emulator/links/{id}/data/{resource}", post(add_objects))
        .route(
            "/_emulator/links/{id}/data/{resource}/{object}",
            axum::routing::patch(modify_object).delete(delete_object),
        )
        .route("/_emulator/scale", get(get_scale).put(set_scale))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/faults/{id}", delete(remove_fault))
        .route(
            "/_emulator/webhooks",
            get(list_webhooks).delete(clear_webhooks),
        )
        .route(
            "/_emulator/requests",
            get(list_requests).delete(clear_requests),
        )
        .route(
            "/_emulator/firewall",
            get(get_firewall).delete(reset_firewall),
        )
        .route("/_emulator/mfa/expire", post(expire_mfa))
        .route("/_emulator/tokens/expire", post(expire_tokens))
}

fn c(s: Shared) -> Control {
    Control::new(s)
}

async fn reset(State(s): State<Shared>) -> R {
    c(s).reset();
    ok(json!({"reset": true}))
}

async fn links(State(s): State<Shared>) -> R {
    ok(json!(c(s).links()))
}

async fn link(State(s): State<Shared>, Path(id): Path<String>) -> R {
    ok(c(s).link(uuid(&id)?)?)
}

async fn set_status(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Json(b): Json<StatusBody>,
) -> R {
    let id = uuid(&id)?;
    let webhook_id = c(s.clone()).set_link_status(id, b.status, b.notify)?;
    let mut v = c(s).link(id)?;
    data::set(&mut v, "webhook_id", json!(webhook_id));
    ok(v)
}

async fn set_link_scale(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Json(b): Json<Scale>,
) -> R {
    let id = uuid(&id)?;
    c(s.clone()).set_link_scale(id, b)?;
    ok(c(s).link(id)?)
}

async fn trigger(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Json(b): Json<WebhookTrigger>,
) -> R {
    let webhook_id = c(s).trigger_webhook(uuid(&id)?, b)?;
    ok(json!({ "webhook_id": webhook_id }))
}

async fn recurrent_refresh(State(s): State<Shared>, Path(id): Path<String>) -> R {
    let sent = c(s).recurrent_refresh(uuid(&id)?)?;
    ok(json!({ "webhook_ids": sent }))
}

async fn clear_cooldown(State(s): State<Shared>, Path(id): Path<String>) -> R {
    c(s).clear_refresh_cooldown(uuid(&id)?)?;
    ok(json!({"cleared": true}))
}

async fn add_objects(
    State(s): State<Shared>,
    Path((id, res)): Path<(String, String)>,
    Json(b): Json<Objects>,
) -> R {
    let items = match b {
        Objects::Many { items } => items,
        Objects::One(v) => vec![v],
    };
    let added = c(s).add_objects(uuid(&id)?, &res, items)?;
    Ok((StatusCode::CREATED, Json(json!(added))).into_response())
}

async fn modify_object(
    State(s): State<Shared>,
    Path((id, res, obj)): Path<(String, String, String)>,
    Json(b): Json<Map<String, Value>>,
) -> R {
    ok(c(s).modify_object(uuid(&id)?, &res, uuid(&obj)?, b)?)
}

async fn delete_object(
    State(s): State<Shared>,
    Path((id, res, obj)): Path<(String, String, String)>,
) -> R {
    c(s).delete_object(uuid(&id)?, &res, uuid(&obj)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_scale(State(s): State<Shared>) -> R {
    ok(json!(c(s).default_scale()))
}

async fn set_scale(State(s): State<Shared>, Json(b): Json<Scale>) -> R {
    c(s).set_default_scale(b);
    ok(json!(b))
}

async fn list_faults(State(s): State<Shared>) -> R {
    ok(json!(c(s).faults()))
}

async fn add_fault(State(s): State<Shared>, Json(b): Json<FaultSpec>) -> R {
    if b.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(ControlError::Invalid(
            "probability must be within 0..=1".into(),
        ));
    }
    let id = c(s).add_fault(b);
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

async fn clear_faults(State(s): State<Shared>) -> R {
    c(s).clear_faults();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_fault(State(s): State<Shared>, Path(id): Path<u64>) -> R {
    if c(s).remove_fault(id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ControlError::Invalid(format!("no fault {id}")))
    }
}

async fn list_webhooks(State(s): State<Shared>) -> R {
    ok(json!(c(s).webhooks()))
}

async fn clear_webhooks(State(s): State<Shared>) -> R {
    c(s).clear_webhooks();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_requests(State(s): State<Shared>) -> R {
    ok(json!(c(s).requests()))
}

async fn clear_requests(State(s): State<Shared>) -> R {
    c(s).clear_requests();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_firewall(State(s): State<Shared>) -> R {
    ok(json!(c(s).firewall()))
}

async fn reset_firewall(State(s): State<Shared>) -> R {
    c(s).reset_firewall();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn expire_mfa(State(s): State<Shared>) -> R {
    ok(json!({"expired": c(s).expire_mfa_sessions()}))
}

async fn expire_tokens(State(s): State<Shared>) -> R {
    ok(json!({"expired": c(s).expire_widget_tokens()}))
}
