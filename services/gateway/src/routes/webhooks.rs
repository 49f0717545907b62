//! `POST /webhooks/belvo/{region}`: Belvo's webhooks in. In order: an IP that failed
//! authentication too often is refused (429) before anything else; the region must be
//! configured (404); the `Authorization` header must equal the region's configured value,
//! compared in constant time (401); the body must fit the webhook limit (413); then
//! data-service persists it (`IngestWebhook`) and only then the gateway answers 200. When
//! data-service cannot be reached the answer is 503, so Belvo retries. Nothing is sent to
//! data-service from a rejected request, and the Authorization value is never logged.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::routing::post;
use connect_proto::data::v1::{IngestOutcome, IngestWebhookRequest};
use http::{Method, header};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;
use tonic::Code;

use super::{Route, RouteDoc};
use crate::AppState;
use crate::error::ApiError;
use crate::services::request;

pub(super) fn routes() -> Vec<Route> {
    vec![
        RouteDoc::new(
            Method::POST,
            "/webhooks/belvo/{region}",
            "belvoWebhook",
            "Belvo webhook receiver (authenticated by the region's Authorization value)",
            "webhooks",
        )
        .public()
        .body(json!({"type": "object", "description": "Belvo's webhook envelope"}))
        .responses(&[(200, "Stored (or a duplicate)")])
        .returns("WebhookAck")
        .handler(post(receive)),
    ]
}

async fn receive(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(region_id): Path<String>,
    request_in: Request,
) -> Result<Json<Value>, ApiError> {
    let ip = client_ip(&state, peer, request_in.headers());
    let outcome = |outcome: &str| {
        let label = if state.regions.region(&region_id).is_ok() {
            region_id.as_str()
        } else {
            "unknown"
        };
        state.metrics.observe_webhook(label, outcome);
    };
    if let Err(retry_after) = state.webhook_failures.check(&ip) {
        outcome("rate_limited");
        return Err(ApiError::RateLimited { retry_after });
    }
    let Ok(region) = state.regions.region(&region_id) else {
        // Probing for regions counts as a failed authentication.
        let _ = state.webhook_failures.hit(&ip);
        outcome("unknown_region");
        return Err(ApiError::NotFound);
    };
    if let Some(expected) = region.webhook_authorization() {
        let given = request_in
            .headers()
            .get(header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes)
            .unwrap_or_default();
        let ok: bool = given.ct_eq(expected.expose_secret().as_bytes()).into();
        if !ok {
            let _ = state.webhook_failures.hit(&ip);
            outcome("unauthorized");
            return Err(ApiError::Unauthenticated {
                reason: format!(
                    "webhook for region {region_id} with a wrong or missing Authorization from {ip}"
                ),
            });
        }
    }
    let limit = state.config.limits.webhook_body_bytes;
    let declared = request_in
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        outcome("too_large");
        return Err(ApiError::PayloadTooLarge);
    }
    let Ok(body) = axum::body::to_bytes(request_in.into_body(), limit).await else {
        outcome("too_large");
        return Err(ApiError::PayloadTooLarge);
    };
    let result = state
        .services
        .data
        .clone()
        .ingest_webhook({
            let mut ingest = request(IngestWebhookRequest {
                region: region_id.clone(),
                body: body.to_vec(),
            });
            ingest.set_timeout(state.config.limits.webhook_ingest_timeout);
            ingest
        })
        .await;
    match result {
        Ok(response) => {
            let response = response.into_inner();
            let duplicate = response.outcome == IngestOutcome::Duplicate as i32;
            outcome(if duplicate { "duplicate" } else { "accepted" });
            Ok(Json(json!({
                "status": if duplicate { "duplicate" } else { "accepted" },
                "webhook_id": response.webhook_id,
            })))
        }
        Err(status) => match status.code() {
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                outcome("unavailable");
                Err(ApiError::Unavailable(format!(
                    "data-service: {:?} {}",
                    status.code(),
                    status.message()
                )))
            }
            Code::InvalidArgument => {
                outcome("rejected");
                Err(status.into())
            }
            _ => {
                outcome("error");
                Err(status.into())
            }
        },
    }
}

/// The client address for per-IP limits: the TCP peer, or behind a trusted proxy the
/// rightmost address of the configured header.
fn client_ip(state: &AppState, peer: SocketAddr, headers: &http::HeaderMap) -> IpAddr {
    state
        .config
        .server
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or_else(|| peer.ip())
}
