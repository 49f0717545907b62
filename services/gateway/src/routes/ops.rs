//! Operations routes: `/healthz` (the process answers), `/readyz` (token-, link- and
//! data-service report SERVING over `grpc.health.v1`) and `/metrics` (Prometheus).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, StatusCode, header};
use serde_json::{Map, Value, json};

use super::{Route, RouteDoc};
use crate::AppState;
use crate::error::ApiError;

pub(super) fn routes() -> Vec<Route> {
    vec![
        RouteDoc::new(
            Method::GET,
            "/healthz",
            "healthz",
            "Liveness: the process answers",
            "operations",
        )
        .public()
        .handler(get(healthz)),
        RouteDoc::new(
            Method::GET,
            "/readyz",
            "readyz",
            "Readiness: every service the gateway calls reports SERVING",
            "operations",
        )
        .public()
        .responses(&[(
            200,
            "Ready (503 with the same body when a dependency is not)",
        )])
        .handler(get(readyz)),
        RouteDoc::new(
            Method::GET,
            "/metrics",
            "metrics",
            "Prometheus metrics",
            "operations",
        )
        .public()
        .returns("text/plain")
        .handler(get(metrics)),
    ]
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.shutdown.is_triggered() {
        // Draining: stop receiving new traffic.
        let body = json!({"status": "shutting_down", "checks": {}});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let checks = state
        .services
        .readiness(state.config.server.readiness_timeout)
        .await;
    let ready = checks.iter().all(|(_, r)| r.is_ok());
    let mut details = Map::new();
    for (name, result) in checks {
        let value = match result {
            Ok(()) => json!({"status": "serving"}),
            Err(reason) => json!({"status": "not_serving", "reason": reason}),
        };
        details.insert(name.to_owned(), value);
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if ready { "ready" } else { "not_ready" }, "checks": details});
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("cannot render metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
