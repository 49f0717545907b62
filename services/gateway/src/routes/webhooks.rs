//! `POST /webhooks/belvo/{region}`: Belvo's webhooks in. In order: the region must be
//! configured (404); the `Authorization` header must equal the region's configured value (or,
//! during a rotation, the value it moves to), compared in constant time (401; an address, an
//! IPv6 /64, with too many such failures gets 429 instead, while a request with the right value
//! always passes); the body must fit the webhook limit (413); then data-service persists it
//! (`IngestWebhook`) and only then the gateway answers 200. When data-service cannot be reached
//! the answer is 503, so Belvo retries. Nothing is sent to data-service from a rejected request,
//! and the Authorization value is never logged.

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
    // Only failures count, and only they are refused once an address has too many: a request
    // with the right Authorization always goes through (a shared address with a prober in it
    // must not lose Belvo's webhooks).
    let refuse = |failure: &str| match state.webhook_failures.hit(&limit_key(ip)) {
        Ok(()) => {
            outcome(failure);
            None
        }
        Err(retry_after) => {
            outcome("rate_limited");
            Some(ApiError::RateLimited { retry_after })
        }
    };
    let Ok(region) = state.regions.region(&region_id) else {
        // Probing for regions counts as a failed authentication.
        return Err(refuse("unknown_region").unwrap_or(ApiError::NotFound));
    };
    if region.webhook_authorization().is_some() {
        let given = request_in
            .headers()
            .get(header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes)
            .unwrap_or_default();
        // Every accepted value is compared (during a rotation, the current and the next one),
        // each in constant time.
        let ok = region
            .webhook_authorizations()
            .fold(subtle::Choice::from(0), |ok, expected| {
                ok | given.ct_eq(expected.expose_secret().as_bytes())
            });
        if !bool::from(ok) {
            return Err(refuse("unauthorized").unwrap_or(ApiError::Unauthenticated {
                reason: format!(
                    "webhook for region {region_id} with a wrong or missing Authorization from {ip}"
                ),
            }));
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

/// What the limit counts per: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// network: a client there picks any of its 2^64 addresses freely).
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            IpAddr::from([
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            ])
        }
    }
}

/// The client address for per-IP limits: the TCP peer, or behind a trusted proxy the
/// rightmost address of the configured header's last line (the proxy appends its own line
/// after any the client wrote).
fn client_ip(state: &AppState, peer: SocketAddr, headers: &http::HeaderMap) -> IpAddr {
    state
        .config
        .server
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
        .unwrap_or_else(|| peer.ip())
}
