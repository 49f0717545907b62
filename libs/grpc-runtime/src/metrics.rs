//! Prometheus metrics of the gRPC server and the admin HTTP server that exposes a
//! registry at `/metrics`. Each server owns its `prometheus::Registry` (no global
//! registry), so a service registers its own metrics beside these and tests never share
//! counters.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Request counters and latency histograms by service, method and status code.
#[derive(Debug, Clone)]
pub struct GrpcMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

const LABELS: [&str; 3] = ["service", "method", "code"];

impl GrpcMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "grpc_server_requests_total",
                "gRPC calls completed, by service, method and status code.",
            ),
            &LABELS,
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_request_duration_seconds",
                "Time from a call's arrival to its status, by service, method and status code.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &LABELS,
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { requests, duration })
    }

    /// Records one completed call.
    pub(crate) fn observe(&self, service: &str, method: &str, code: &str, seconds: f64) {
        let labels = [service, method, code];
        self.requests.with_label_values(&labels).inc();
        self.duration.with_label_values(&labels).observe(seconds);
    }
}

/// The admin router: `GET /metrics` in the Prometheus text format.
pub(crate) fn admin_router(registry: Registry) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(registry)
}

async fn render(State(registry): State<Registry>) -> Response {
    let encoder = prometheus::TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => (
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Logs where the admin server listens.
pub(crate) fn log_admin_addr(addr: SocketAddr) {
    tracing::info!(%addr, "admin server listening (/metrics)");
}
