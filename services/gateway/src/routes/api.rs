//! The end-user API: widget tokens (token-service), links (link-service, with sync status
//! from data-service), and in dev mode a login that issues test tokens. Every link route
//! passes the authenticated user as the owner, so another user's link is a 404.

use std::str::FromStr as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use connect_proto::common::v1::Product;
use connect_proto::link::v1::{
    DeleteLinkRequest, EraseOwnerRequest, GetErasureRequest, GetLinkRequest, Link, LinkStatus,
    ListLinksRequest, RefreshLinkRequest, RegisterLinkRequest,
};
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, DocumentType, IdentificationInfo, WidgetOverrides,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{JsonBody, Route, RouteDoc, link_id_field};
use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::services::request;
use crate::views;

pub(super) fn routes(dev: bool) -> Vec<Route> {
    let mut routes = vec![
        RouteDoc::new(
            Method::POST,
            "/v1/widget-token",
            "createWidgetToken",
            "Mint a Belvo widget access token and the widget's start-up configuration",
            "widget",
        )
        .body(json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "description": "Region key; default: the configured default region"},
                "products": {"type": "array", "items": {"type": "string", "enum": ["banking", "employment", "fiscal"]}},
                "link_id": {"type": "string", "description": "Update mode: one of the user's links to re-authenticate"},
                "identification_info": {
                    "type": "array",
                    "description": "Brazil's Open Finance regions only (required there): who gives the consent, Belvo's `widget.consent.identification_info`: the person's CPF, or a representative's CPF and the company's CNPJ. Sent to Belvo only, never stored or logged.",
                    "items": {
                        "type": "object",
                        "required": ["type", "number", "name"],
                        "properties": {
                            "type": {"type": "string", "enum": ["CPF", "CNPJ"]},
                            "number": {"type": "string", "description": "Digits only: 11 for a CPF, 14 for a CNPJ"},
                            "name": {"type": "string", "description": "The person's or the company's name"}
                        }
                    }
                }
            }
        }))
        .responses(&[(200, "Token and widget configuration")])
        .returns("WidgetToken")
        .handler(post(create_widget_token)),
        RouteDoc::new(
            Method::POST,
            "/v1/links",
            "registerLink",
            "Register a link the widget created",
            "links",
        )
        .body(json!({
            "type": "object",
            "required": ["link_id"],
            "properties": {
                "link_id": {"type": "string"},
                "institution": {"type": "string", "description": "From the widget callback (informational)"},
                "region": {"type": "string", "description": "The widget's region (`widget.region`)"}
            }
        }))
        .responses(&[(201, "Registered"), (200, "Already registered to this user")])
        .returns("Registered")
        .handler(post(register_link)),
        RouteDoc::new(Method::GET, "/v1/links", "listLinks", "The user's links, newest first", "links")
            .query(&[
                ("limit", "Links per page, 1 to 200 (default 50)"),
                ("cursor", "`next_cursor` of the previous page"),
                ("status", "Only these statuses (comma-separated): valid, invalid, unconfirmed, token_required, deleted"),
                ("include_deleted", "true: also deleted links"),
            ])
            .returns("LinkPage")
            .handler(get(list_links)),
        RouteDoc::new(
            Method::GET,
            "/v1/links/{id}",
            "getLink",
            "One link with the sync status of each resource",
            "links",
        )
        .returns("LinkDetail")
        .handler(get(get_link)),
        RouteDoc::new(Method::DELETE, "/v1/links/{id}", "deleteLink", "Delete a link (at Belvo too)", "links")
            .returns("Link")
            .handler(delete(delete_link)),
        RouteDoc::new(
            Method::POST,
            "/v1/links/{id}/refresh",
            "refreshLink",
            "Ask Belvo to pull the link's data again",
            "links",
        )
        .responses(&[
            (202, "Accepted; webhooks follow"),
            (429, "The user asked for too many refreshes; see Retry-After"),
        ])
        .returns("RefreshAccepted")
        .handler(post(refresh_link)),
        RouteDoc::new(
            Method::DELETE,
            "/v1/me",
            "eraseMe",
            "Erase the user: their links are deleted at once, then, durably, at Belvo, their data and webhooks purged and their widget mappings forgotten; follow it with GET /v1/me/erasure",
            "privacy",
        )
        .responses(&[(202, "Erasure under way (or already under way)")])
        .returns("Erasure")
        .handler(delete(erase_me)),
        RouteDoc::new(
            Method::GET,
            "/v1/me/erasure",
            "getMyErasure",
            "How far the user's erasure got; 404 when none was asked for",
            "privacy",
        )
        .returns("Erasure")
        .handler(get(my_erasure)),
    ];
    if dev {
        routes.push(
            RouteDoc::new(
                Method::POST,
                "/v1/dev/login",
                "devLogin",
                "Development only: a short-lived token for any user",
                "dev",
            )
            .public()
            .body(json!({"type": "object", "required": ["user"], "properties": {"user": {"type": "string"}}}))
            .returns("DevToken")
            .handler(post(dev_login)),
        );
    }
    routes
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevLogin {
    #[serde(default)]
    user: String,
}

async fn dev_login(
    State(state): State<Arc<AppState>>,
    JsonBody(body): JsonBody<DevLogin>,
) -> Result<Json<Value>, ApiError> {
    let user = body.user.trim();
    if user.is_empty() || user.len() > 128 || user.chars().any(char::is_control) {
        return Err(ApiError::field(
            "user",
            "required: 1 to 128 printable characters",
        ));
    }
    let (token, ttl) = state
        .auth
        .issue_dev_token(user)
        .ok_or(ApiError::NotFound)??;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "user": user,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetTokenBody {
    region: Option<String>,
    #[serde(default)]
    products: Vec<String>,
    link_id: Option<String>,
    #[serde(default)]
    identification_info: Vec<IdentificationBody>,
}

/// One entry of an OFDA consent's `identification_info`, in Belvo's shape. token-service
/// checks the numbers and whether the region takes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentificationBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    name: String,
}

/// The widget overrides a token body asks for (only OFDA's consent identification).
fn widget_overrides(
    identification_info: Vec<IdentificationBody>,
) -> Result<Option<WidgetOverrides>, ApiError> {
    if identification_info.is_empty() {
        return Ok(None);
    }
    let mut entries = Vec::new();
    for (i, entry) in identification_info.into_iter().enumerate() {
        let kind = match entry.kind.as_str() {
            "CPF" => DocumentType::Cpf,
            "CNPJ" => DocumentType::Cnpj,
            other => {
                return Err(ApiError::field(
                    format!("identification_info[{i}].type"),
                    format!("unknown document type `{other}`; expected CPF or CNPJ"),
                ));
            }
        };
        entries.push(IdentificationInfo {
            r#type: kind as i32,
            number: entry.number,
            name: entry.name,
        });
    }
    Ok(Some(WidgetOverrides {
        identification_info: entries,
        ..WidgetOverrides::default()
    }))
}

async fn create_widget_token(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    JsonBody(body): JsonBody<WidgetTokenBody>,
) -> Result<Json<Value>, ApiError> {
    state
        .token_limiter
        .hit(&user.id)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let region = body
        .region
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| state.regions.default_region().id().as_str().to_owned());
    let mut products = Vec::new();
    for name in &body.products {
        let product = regions::Product::from_str(name).map_err(|_| {
            ApiError::field(
                "products",
                format!("unknown product `{name}`; expected banking, employment or fiscal"),
            )
        })?;
        products.push(product);
    }
    if products.is_empty() {
        // Default: every product the region offers.
        if let Ok(config) = state.regions.region(&region) {
            products = config.products().iter().map(|p| p.product).collect();
        }
    }
    let widget = widget_overrides(body.identification_info)?;
    if let Some(link_id) = &body.link_id {
        link_id_field("link_id", link_id)?;
        owned_link(&state, &user, link_id).await?;
    }
    let products = products
        .into_iter()
        .map(|p| match p {
            regions::Product::Banking => Product::Banking as i32,
            regions::Product::Employment => Product::Employment as i32,
            regions::Product::Fiscal => Product::Fiscal as i32,
        })
        .collect();
    let response = state
        .services
        .token
        .clone()
        .create_widget_token(request(CreateWidgetTokenRequest {
            region,
            owner: user.id,
            products,
            fetch_resources: Vec::new(),
            link_id: body.link_id,
            widget,
        }))
        .await?
        .into_inner();
    Ok(Json(json!({
        "access_token": response.access_token,
        "expires_at": views::timestamp(response.expires_at.as_ref()),
        "widget": response.widget.as_ref().map(views::widget),
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    #[serde(default)]
    link_id: String,
    institution: Option<String>,
    region: Option<String>,
}

async fn register_link(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<Response, ApiError> {
    if body.link_id.is_empty() {
        return Err(ApiError::field("link_id", "required"));
    }
    link_id_field("link_id", &body.link_id)?;
    let response = state
        .services
        .link
        .clone()
        .register_link(request(RegisterLinkRequest {
            owner: user.id,
            link_id: body.link_id,
            region: body.region.unwrap_or_default(),
        }))
        .await?
        .into_inner();
    let link = response
        .link
        .ok_or_else(|| ApiError::Internal("RegisterLink answered without a link".to_owned()))?;
    if let Some(institution) = body.institution
        && institution != link.institution
    {
        tracing::info!(
            link_id = %link.link_id,
            callback = %institution,
            belvo = %link.institution,
            "the widget callback named another institution than Belvo; Belvo's is kept"
        );
    }
    let status = if response.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"link": views::link(&link), "created": response.created})),
    )
        .into_response())
}

/// The user's link, or 404 (missing, malformed id, or another user's).
pub(crate) async fn owned_link(
    state: &AppState,
    user: &AuthUser,
    link_id: &str,
) -> Result<Link, ApiError> {
    if uuid::Uuid::parse_str(link_id).is_err() {
        return Err(ApiError::NotFound);
    }
    state
        .services
        .link
        .clone()
        .get_link(request(GetLinkRequest {
            link_id: link_id.to_owned(),
            owner: user.id.clone(),
        }))
        .await?
        .into_inner()
        .link
        .ok_or(ApiError::NotFound)
}

/// Checks that `user` owns `link_id` like [`owned_link`], unless that was confirmed within
/// the last seconds (see [`crate::ownership`]): for reads that data-service checks again.
pub(crate) async fn check_owned(
    state: &AppState,
    user: &AuthUser,
    link_id: &str,
) -> Result<(), ApiError> {
    if !state.ownership.owns(&user.id, link_id) {
        owned_link(state, user, link_id).await?;
        state.ownership.confirm(&user.id, link_id);
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
    include_deleted: Option<String>,
}

async fn list_links(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| super::query_error(&e))?;
    let page_size = match query.limit.as_deref() {
        None | Some("") => 0,
        Some(limit) => limit
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be a number from 1 to 200"))?,
    };
    let mut statuses = Vec::new();
    for word in query
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let status =
            LinkStatus::from_str_name(&format!("LINK_STATUS_{}", word.to_ascii_uppercase()))
                .filter(|s| *s != LinkStatus::Unspecified)
                .ok_or_else(|| ApiError::field("status", format!("unknown status `{word}`")))?;
        statuses.push(status as i32);
    }
    let include_deleted = match query.include_deleted.as_deref() {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::field("include_deleted", "must be true or false")),
    };
    let response = state
        .services
        .link
        .clone()
        .list_links(request(ListLinksRequest {
            owner: user.id,
            page_size,
            page_token: query.cursor.unwrap_or_default(),
            statuses,
            include_deleted,
        }))
        .await?
        .into_inner();
    let next = (!response.next_page_token.is_empty()).then_some(response.next_page_token);
    Ok(Json(json!({
        "data": response.links.iter().map(views::link).collect::<Vec<_>>(),
        "has_more": next.is_some(),
        "next_cursor": next,
    })))
}

async fn get_link(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let link = owned_link(&state, &user, &id).await?;
    let sync = state
        .services
        .data
        .clone()
        .get_sync_status(request(connect_proto::data::v1::GetSyncStatusRequest {
            link_id: id,
            owner: user.id,
        }))
        .await;
    let sync = match sync {
        Ok(response) => response
            .into_inner()
            .link
            .as_ref()
            .map_or(Value::Null, views::link_sync),
        // Registered, but data-service has not heard of it yet: nothing synced.
        Err(status) if status.code() == tonic::Code::NotFound => Value::Null,
        Err(status) => return Err(status.into()),
    };
    let mut body = views::link(&link);
    body["sync"] = sync;
    Ok(Json(body))
}

async fn delete_link(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound);
    }
    let link = state
        .services
        .link
        .clone()
        .delete_link(request(DeleteLinkRequest {
            link_id: id,
            owner: user.id,
        }))
        .await?
        .into_inner()
        .link
        .ok_or(ApiError::NotFound)?;
    state.ownership.forget(&link.link_id);
    Ok(Json(views::link(&link)))
}

async fn refresh_link(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound);
    }
    // Each refresh is a call to Belvo, on the budget every user shares.
    state
        .refresh_limiter
        .hit(&user.id)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let response = state
        .services
        .link
        .clone()
        .refresh_link(request(RefreshLinkRequest {
            link_id: id,
            owner: user.id,
            fetch_resources: Vec::new(),
        }))
        .await?
        .into_inner();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "belvo_request_id": response.belvo_request_id,
            "requested_at": views::timestamp(response.requested_at.as_ref()),
        })),
    )
        .into_response())
}

async fn erase_me(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
) -> Result<Response, ApiError> {
    let erasure = state
        .services
        .link
        .clone()
        .erase_owner(request(EraseOwnerRequest {
            owner: user.id.clone(),
        }))
        .await?
        .into_inner()
        .erasure;
    state.ownership.forget_user(&user.id);
    Ok((StatusCode::ACCEPTED, Json(views::erasure(erasure.as_ref()))).into_response())
}

async fn my_erasure(
    State(state): State<Arc<AppState>>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let erasure = state
        .services
        .link
        .clone()
        .get_erasure(request(GetErasureRequest { owner: user.id }))
        .await?
        .into_inner()
        .erasure;
    Ok(Json(views::erasure(erasure.as_ref())))
}
