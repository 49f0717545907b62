//! Operations routes: `/healthz` (the process answers), `/readyz` (token-, link- and
//! data-service report SERVING over `grpc.health.v1`). `/metrics` is on the admin address.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{Route, RouteDoc};
use crate::AppState;

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
