//! The layer every request passes through, built once: a request id (`x-request-id`, kept
//! from the caller when it is sane, else a new UUID) that is echoed in the response, set on
//! the request's span (so it is in every log line of the request), readable anywhere in the
//! handler through [`current_request_id`] and sent on every gRPC call it makes; a span that continues the caller's W3C trace
//! context (the gRPC channels inject it into every call); the request timeout; security
//! headers; one log line; and the Prometheus samples.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderName, HeaderValue, header};
use tracing::Instrument as _;

use crate::AppState;
use crate::error::ApiError;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled (empty outside a request).
pub fn current_request_id() -> String {
    grpc_runtime::request_id::current().unwrap_or_default()
}

/// Keeps a caller's id only if it is short and printable, so it cannot forge log lines.
fn incoming_request_id(request: &Request) -> Option<String> {
    let value = request.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| value.to_owned())
}

/// Precomputed response headers.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers for a CSP and an HSTS choice.
    pub fn new(csp: &str, hsts: bool) -> Result<Self, http::header::InvalidHeaderValue> {
        let mut headers = vec![
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(csp)?),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
            ),
        ];
        if hsts {
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        Ok(Self { headers })
    }
}

/// The per-request middleware (see the module docs).
pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id =
        incoming_request_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %method,
        route = %route,
        user = tracing::field::Empty,
    );
    telemetry::propagation::set_parent_from_headers(&span, request.headers());
    let timeout = state.config.server.request_timeout;
    let inner = async move {
        match tokio::time::timeout(timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::Timeout.into_response(),
        }
    };
    // In scope, every gRPC call the handler makes sends the same request id.
    let mut response =
        grpc_runtime::request_id::scope(request_id.clone(), inner.instrument(span.clone())).await;
    let status = response.status();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    for (name, value) in &state.security_headers.headers {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    let elapsed = started.elapsed();
    state.metrics.observe_request(
        method.as_str(),
        &route,
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    span.in_scope(|| {
        let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        // Probes and scrapes arrive every few seconds; they are logged only at debug.
        if matches!(route.as_str(), "/healthz" | "/readyz") && status.is_success() {
            tracing::debug!(status = status.as_u16(), latency_ms, "request");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request");
        }
    });
    response
}
