//! What can go wrong while answering a request, and the one place it becomes an HTTP
//! response: `{"error": {"code", "message", "field"?, "request_id"}}`. gRPC statuses from the
//! services go through [`http_status`], one exhaustive mapping from `tonic::Code`;
//! `google.rpc.BadRequest` field violations come out as 400 naming the field,
//! `google.rpc.ErrorInfo` reasons become the `code`, and `google.rpc.RetryInfo` a
//! `Retry-After` header. 5xx and authentication failures say little outward (a fixed message
//! and the request id) and everything inward (logged once, here).

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::middleware::current_request_id;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid bearer token (the reason is logged, never sent).
    #[error("unauthenticated: {reason}")]
    Unauthenticated {
        /// Why, for the log.
        reason: String,
    },
    /// A bad request field.
    #[error("invalid {field}: {message}")]
    InvalidField {
        /// The request field (JSON key, query parameter or path segment).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A malformed request that names no single field.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Not there, or not this user's.
    #[error("not found")]
    NotFound,
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than allowed.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Too many requests; try again after the delay.
    #[error("rate limited")]
    RateLimited {
        /// When to try again.
        retry_after: Duration,
    },
    /// A dependency cannot answer now (safe to retry).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The request took longer than the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// A service answered with an error status.
    #[error("upstream status {}: {}", .0.code(), .0.message())]
    Upstream(tonic::Status),
    /// Something unexpected; the cause is logged.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<tonic::Status> for ApiError {
    /// A status the client made itself from a broken connection (it has a source error; a
    /// service's status has none) means the call was cut: a pod killed or a node lost, which
    /// a retry may well not meet. That is 503, like a refused connection, not a 500.
    fn from(status: tonic::Status) -> Self {
        if std::error::Error::source(&status).is_some()
            && matches!(status.code(), Code::Unknown | Code::Internal)
        {
            return Self::Unavailable(format!("the call was cut: {}", status.message()));
        }
        Self::Upstream(status)
    }
}

/// The HTTP status for a gRPC code: the one mapping the gateway uses, exhaustive on purpose
/// (a new code must be placed here by hand).
///
/// `UNAUTHENTICATED` from a service means the *gateway's* service token was refused, a
/// deployment fault rather than the end user's, so it is a 500; `FAILED_PRECONDITION` is a
/// 409 (the resource's state forbids it now, e.g. Belvo's refresh cooldown), not a 400,
/// so that clients can tell it from a bad field.
pub const fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unauthenticated => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `code` of an error body for a gRPC code without an `ErrorInfo` reason.
pub const fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "internal",
        Code::Cancelled => "cancelled",
        Code::Unknown => "internal",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "internal",
        Code::Unauthenticated => "internal",
    }
}

#[derive(Debug, Serialize)]
struct Body {
    error: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    request_id: String,
}

/// Service field paths as the gateway's clients know them (query parameter names):
/// `page.page_size` → `limit`, `value_date.from` → `value_date_from`, `types[1]` → `type`.
fn public_field(field: &str) -> String {
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "page.page_size" | "page_size" => "limit".to_owned(),
        "page.page_token" | "page_token" => "cursor".to_owned(),
        "categories" => "category".to_owned(),
        "types" => "type".to_owned(),
        "statuses" => "status".to_owned(),
        // The token body's `identification_info` travels as `widget.identification_info`.
        "widget.identification_info" => field.trim_start_matches("widget.").to_owned(),
        other => other
            .strip_suffix(".from")
            .map(|base| format!("{base}_from"))
            .or_else(|| other.strip_suffix(".to").map(|base| format!("{base}_to")))
            .unwrap_or_else(|| field.to_owned()),
    }
}

impl ApiError {
    /// Shorthand for [`ApiError::InvalidField`].
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A service's status, with its first field violation named by `rename` when that knows
    /// the field (a route whose query names differ per resource); otherwise
    /// [`ApiError::Upstream`], whose violations get the gateway-wide names.
    pub fn upstream_renamed(
        status: tonic::Status,
        rename: impl FnOnce(&str) -> Option<String>,
    ) -> Self {
        if status.code() == Code::InvalidArgument
            && let Some(bad) = status.get_details_bad_request()
            && let Some(first) = bad.field_violations.first()
            && let Some(field) = rename(&first.field)
        {
            return Self::field(field, first.description.clone());
        }
        Self::from(status)
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::InvalidField { .. } | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Upstream(status) => http_status(status.code()),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        let status = self.status();
        let mut retry_after = None;
        let (code, message, field) = match &self {
            Self::Unauthenticated { reason } => {
                tracing::info!(%request_id, reason = %reason, "request not authenticated");
                (
                    "unauthenticated".to_owned(),
                    "a valid bearer token is required".to_owned(),
                    None,
                )
            }
            Self::InvalidField { field, message } => (
                "invalid_argument".to_owned(),
                message.clone(),
                Some(field.clone()),
            ),
            Self::BadRequest(message) => ("invalid_argument".to_owned(), message.clone(), None),
            Self::NotFound => ("not_found".to_owned(), "not found".to_owned(), None),
            Self::MethodNotAllowed => (
                "method_not_allowed".to_owned(),
                "this method is not allowed here".to_owned(),
                None,
            ),
            Self::PayloadTooLarge => (
                "payload_too_large".to_owned(),
                "the request body is too large".to_owned(),
                None,
            ),
            Self::RateLimited { retry_after: delay } => {
                retry_after = Some(*delay);
                (
                    "rate_limited".to_owned(),
                    "too many requests; try again later".to_owned(),
                    None,
                )
            }
            Self::Unavailable(cause) => {
                tracing::warn!(%request_id, cause = %cause, "dependency unavailable");
                (
                    "unavailable".to_owned(),
                    "a service is temporarily unavailable; try again".to_owned(),
                    None,
                )
            }
            Self::Timeout => (
                "timeout".to_owned(),
                "the request took too long".to_owned(),
                None,
            ),
            Self::Upstream(grpc) => {
                let (code, message, field, wait) = describe_status(grpc, status, &request_id);
                retry_after = wait;
                (code, message, field)
            }
            Self::Internal(cause) => {
                tracing::error!(%request_id, cause = %cause, "internal error");
                (
                    "internal".to_owned(),
                    format!("internal error (request id {request_id})"),
                    None,
                )
            }
        };
        let body = Body {
            error: ErrorBody {
                code,
                message,
                field,
                request_id,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(delay) = retry_after {
            let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// Code, message, field and wait of an upstream status. Server errors keep their message
/// out of the response (it is logged).
fn describe_status(
    grpc: &tonic::Status,
    status: StatusCode,
    request_id: &str,
) -> (String, String, Option<String>, Option<Duration>) {
    let wait = grpc.get_details_retry_info().and_then(|r| r.retry_delay);
    if status.is_server_error() {
        tracing::error!(
            %request_id,
            grpc_code = ?grpc.code(),
            grpc_message = grpc.message(),
            "service error"
        );
        let message = if status == StatusCode::SERVICE_UNAVAILABLE {
            "a service is temporarily unavailable; try again".to_owned()
        } else if status == StatusCode::GATEWAY_TIMEOUT {
            "a service took too long to answer".to_owned()
        } else {
            format!("internal error (request id {request_id})")
        };
        return (code_name(grpc.code()).to_owned(), message, None, wait);
    }
    if let Some(bad) = grpc.get_details_bad_request()
        && let Some(first) = bad.field_violations.first()
    {
        return (
            "invalid_argument".to_owned(),
            first.description.clone(),
            Some(public_field(&first.field)),
            wait,
        );
    }
    let code = grpc
        .get_details_error_info()
        .map(|info| info.reason)
        .filter(|reason| !reason.is_empty())
        .unwrap_or_else(|| code_name(grpc.code()).to_owned());
    let message = if status == StatusCode::NOT_FOUND {
        // Another owner's link is indistinguishable from a missing one.
        "not found".to_owned()
    } else {
        grpc.message().to_owned()
    };
    (code, message, None, wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status() {
        for n in 0..=16 {
            let code = Code::from_i32(n);
            let status = http_status(code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
        }
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn service_field_paths_become_query_names() {
        assert_eq!(public_field("page.page_size"), "limit");
        assert_eq!(public_field("page.page_token"), "cursor");
        assert_eq!(public_field("value_date.from"), "value_date_from");
        assert_eq!(public_field("region"), "region");
        assert_eq!(public_field("statuses[1]"), "status");
        assert_eq!(public_field("invoice_date.to"), "invoice_date_to");
        assert_eq!(public_field("widget.locale"), "widget.locale");
        assert_eq!(
            public_field("widget.identification_info[1].number"),
            "identification_info[1].number"
        );
    }
}
