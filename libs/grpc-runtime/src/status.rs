//! `tonic::Status` values with structured details, so that every service reports errors
//! the way `connect/common/v1/common.proto` documents: field violations as
//! `google.rpc.BadRequest` (INVALID_ARGUMENT), Belvo's error codes as `google.rpc.ErrorInfo`
//! with domain `belvo.com`, waits as `google.rpc.RetryInfo`, and internal errors as a fixed
//! message with the request id while the cause goes to the log.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// `ErrorInfo.domain` of errors Belvo reported.
pub const BELVO_DOMAIN: &str = "belvo.com";
/// `ErrorInfo.domain` of the platform's own error reasons (`EXTERNAL_ID_MISMATCH`, ...).
pub const PLATFORM_DOMAIN: &str = "connect.platform";

/// Field violations of one request, in the order found.
#[derive(Debug, Default, Clone)]
pub struct FieldViolations {
    violations: Vec<(String, String)>,
}

impl FieldViolations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` (a snake_case path such as `widget.locale`) is invalid.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) -> &mut Self {
        self.violations.push((field.into(), description.into()));
        self
    }

    /// Records a violation of `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) -> &mut Self {
        if !ok {
            self.add(field, description);
        }
        self
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the INVALID_ARGUMENT status.
    pub fn into_result(self) -> Result<(), Status> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_status())
        }
    }

    /// INVALID_ARGUMENT with a `BadRequest` detail naming every field, and a message
    /// that names them too for clients that do not read details.
    pub fn into_status(self) -> Status {
        let message = format!(
            "invalid request: {}",
            self.violations
                .iter()
                .map(|(field, description)| format!("{field}: {description}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let mut details = ErrorDetails::new();
        for (field, description) in self.violations {
            details.add_bad_request_violation(field, description);
        }
        Status::with_error_details(Code::InvalidArgument, message, details)
    }
}

/// INVALID_ARGUMENT for a single bad field.
pub fn invalid_field(field: &str, description: &str) -> Status {
    let mut violations = FieldViolations::new();
    violations.add(field, description);
    violations.into_status()
}

/// An error Belvo reported, mapped to `code`, with an `ErrorInfo` whose reason is Belvo's
/// error code (`login_error`, `link_refreshed`, ...) and whose metadata carries Belvo's HTTP
/// status and request id when known. With `retry_after`, a `RetryInfo` too.
pub fn belvo_error(
    code: Code,
    message: impl Into<String>,
    belvo_code: &str,
    belvo_status: Option<u16>,
    belvo_request_id: Option<&str>,
    retry_after: Option<Duration>,
) -> Status {
    let mut metadata = HashMap::new();
    if let Some(status) = belvo_status {
        metadata.insert("belvo_status".to_owned(), status.to_string());
    }
    if let Some(id) = belvo_request_id {
        metadata.insert("request_id".to_owned(), id.to_owned());
    }
    let mut details = ErrorDetails::with_error_info(belvo_code, BELVO_DOMAIN, metadata);
    if let Some(delay) = retry_after {
        details.set_retry_info(Some(delay));
    }
    Status::with_error_details(code, message, details)
}

/// One of the platform's own reasons (domain [`PLATFORM_DOMAIN`]), e.g.
/// `platform_error(Code::PermissionDenied, "link belongs to another user", "EXTERNAL_ID_MISMATCH")`.
pub fn platform_error(code: Code, message: impl Into<String>, reason: &str) -> Status {
    let details = ErrorDetails::with_error_info(reason, PLATFORM_DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

/// INTERNAL with a fixed message naming the request id; the cause chain is logged here,
/// once, and never sent.
pub fn internal(request_id: Option<&str>, cause: &(dyn std::error::Error + 'static)) -> Status {
    let mut chain = cause.to_string();
    let mut source = cause.source();
    while let Some(err) = source {
        chain.push_str(": ");
        chain.push_str(&err.to_string());
        source = err.source();
    }
    tracing::error!(request_id = request_id.unwrap_or_default(), error = %chain, "internal error");
    match request_id {
        Some(id) => Status::internal(format!("internal error (request id {id})")),
        None => Status::internal("internal error"),
    }
}

/// The `x-request-id` of a call (set or kept by the request-id layer).
pub fn request_id<T>(request: &tonic::Request<T>) -> Option<&str> {
    request
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_violations_travel_as_bad_request() {
        let mut violations = FieldViolations::new();
        violations
            .check(false, "region", "unknown region `zz`")
            .check(true, "owner", "required")
            .add("widget.locale", "must be es, en or pt");
        let status = violations.into_result().unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("widget.locale"));
        let fields: Vec<_> = status
            .get_details_bad_request()
            .unwrap()
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["region", "widget.locale"]);
        assert!(FieldViolations::new().into_result().is_ok());
    }

    #[test]
    fn belvo_codes_travel_as_error_info_with_retry() {
        let status = belvo_error(
            Code::FailedPrecondition,
            "the link was refreshed recently",
            "link_refreshed",
            Some(409),
            Some("req-1"),
            Some(Duration::from_secs(540)),
        );
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "link_refreshed");
        assert_eq!(info.domain, BELVO_DOMAIN);
        assert_eq!(info.metadata["belvo_status"], "409");
        assert_eq!(info.metadata["request_id"], "req-1");
        let retry = status.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(540)));
    }

    #[test]
    fn internal_errors_hide_the_cause() {
        let cause = std::io::Error::other("password=hunter2 at db");
        let status = internal(Some("abc"), &cause);
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error (request id abc)");
        let status = platform_error(Code::PermissionDenied, "not yours", "EXTERNAL_ID_MISMATCH");
        assert_eq!(
            status.get_details_error_info().unwrap().domain,
            PLATFORM_DOMAIN
        );
    }
}
