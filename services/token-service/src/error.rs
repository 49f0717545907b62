//! Everything a token-service call can fail with, and the one exhaustive mapping to
//! `tonic::Status` (`connect/common/v1/common.proto` conventions): bad fields are
//! INVALID_ARGUMENT with a `BadRequest`; Belvo's own errors keep Belvo's code in an
//! `ErrorInfo` (domain `belvo.com`), with Belvo down, throttling or timing out as
//! UNAVAILABLE; missing links and external ids are NOT_FOUND; storage and unexpected
//! failures are INTERNAL with a fixed message while the cause goes to the log. No message
//! carries a secret or a token.

use grpc_runtime::status::{FieldViolations, belvo_error, internal, platform_error};
use tonic::{Code, Status};

use crate::links::LinkLookupError;
use crate::store::StoreError;

/// `ErrorInfo.reason` when the owner does not have the link asked for.
pub const REASON_LINK_NOT_FOUND: &str = "LINK_NOT_FOUND";
/// `ErrorInfo.reason` when update mode is asked of a service without link-service.
pub const REASON_LINK_SERVICE_NOT_CONFIGURED: &str = "LINK_SERVICE_NOT_CONFIGURED";
/// `ErrorInfo.reason` when link-service cannot be reached.
pub const REASON_LINK_SERVICE_UNAVAILABLE: &str = "LINK_SERVICE_UNAVAILABLE";
/// `ErrorInfo.reason` when an external id was never minted here.
pub const REASON_EXTERNAL_ID_NOT_FOUND: &str = "EXTERNAL_ID_NOT_FOUND";

/// What went wrong in a call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    /// The request has bad fields.
    #[error("invalid request")]
    Invalid(FieldViolations),
    /// Update mode for a link the owner does not have.
    #[error("the owner has no such link")]
    LinkNotFound,
    /// Update mode without a configured link-service.
    #[error("update mode needs link-service, which is not configured")]
    LinkServiceNotConfigured,
    /// link-service could not answer.
    #[error("cannot check the link's owner")]
    LinkLookup(#[source] LinkLookupError),
    /// Belvo refused or failed the token request.
    #[error("Belvo token request failed in region {region}")]
    Belvo {
        /// The region whose Belvo account was called.
        region: String,
        /// What Belvo (or the way to it) did.
        #[source]
        source: belvo::Error,
    },
    /// No such external id was ever minted here.
    #[error("unknown external id")]
    ExternalIdNotFound,
    /// No Belvo client was built for a configured region (a bug).
    #[error("no Belvo client for region {0}")]
    MissingClient(String),
    /// The database failed.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

impl ServiceError {
    /// The status for the caller. Logs the cause of INTERNAL errors (once, with the
    /// request id) and a warning for dependency failures.
    pub(crate) fn into_status(self, request_id: Option<&str>) -> Status {
        match self {
            Self::Invalid(violations) => violations.into_status(),
            Self::LinkNotFound => platform_error(
                Code::NotFound,
                "this owner has no link with that link_id",
                REASON_LINK_NOT_FOUND,
            ),
            Self::LinkServiceNotConfigured => platform_error(
                Code::FailedPrecondition,
                "update mode (link_id) is not available: token-service has no link-service configured",
                REASON_LINK_SERVICE_NOT_CONFIGURED,
            ),
            Self::LinkLookup(LinkLookupError::Unavailable(ref message)) => {
                tracing::warn!(request_id, %message, "link-service unavailable");
                platform_error(
                    Code::Unavailable,
                    "link-service is unavailable; retry later",
                    REASON_LINK_SERVICE_UNAVAILABLE,
                )
            }
            Self::LinkLookup(ref cause @ LinkLookupError::Failed { .. }) => {
                internal(request_id, cause)
            }
            Self::Belvo { region, source } => belvo_status(&region, &source, request_id),
            Self::ExternalIdNotFound => platform_error(
                Code::NotFound,
                "this external_id was never issued by token-service",
                REASON_EXTERNAL_ID_NOT_FOUND,
            ),
            Self::MissingClient(_) => internal(request_id, &self),
            Self::Storage(ref cause) => internal(request_id, cause),
        }
    }
}

/// Belvo's failure as a status: Belvo's code (or a stand-in) in `ErrorInfo`.
fn belvo_status(region: &str, error: &belvo::Error, request_id: Option<&str>) -> Status {
    let status = error.status().map(|s| s.as_u16());
    let belvo_request_id = error.request_id();
    let code_of = |fallback: &'static str| -> String {
        error
            .code()
            .map_or_else(|| fallback.to_owned(), |c| c.as_str().to_owned())
    };
    if error.is_unavailable() {
        tracing::warn!(request_id, region, error = %error, "Belvo unavailable");
        return belvo_error(
            Code::Unavailable,
            "Belvo is unavailable; retry later",
            &code_of("service_unavailable"),
            status,
            belvo_request_id,
            error.retry_after(),
        );
    }
    match error {
        belvo::Error::Api {
            status: http_status,
            ..
        } => {
            tracing::warn!(request_id, region, error = %error, "Belvo refused the token request");
            let (code, message) = match http_status.as_u16() {
                // The keys of the region were refused: an operator must fix the
                // configuration; the caller cannot.
                401 | 403 => (
                    Code::FailedPrecondition,
                    format!("Belvo refused the secret keys of region {region}"),
                ),
                404 => (Code::NotFound, "Belvo does not know the object".to_owned()),
                _ if is_missing_link(error) => (
                    Code::NotFound,
                    "Belvo has no such link in this region".to_owned(),
                ),
                _ => (
                    Code::FailedPrecondition,
                    "Belvo refused the widget token request".to_owned(),
                ),
            };
            belvo_error(
                code,
                message,
                &code_of("unknown"),
                status,
                belvo_request_id,
                None,
            )
        }
        belvo::Error::Http { .. } => {
            tracing::warn!(request_id, region, error = %error, "Belvo answered without JSON");
            belvo_error(
                Code::FailedPrecondition,
                "Belvo refused the widget token request",
                "unknown",
                status,
                None,
                None,
            )
        }
        belvo::Error::TokenRequired(_) => belvo_error(
            Code::FailedPrecondition,
            "Belvo asked for a multi-factor token",
            "token_required",
            status,
            belvo_request_id,
            None,
        ),
        belvo::Error::Transport(_) | belvo::Error::Decode { .. } | belvo::Error::ForeignUrl => {
            internal(request_id, error)
        }
    }
}

/// `400 does_not_exist` on `link_id`: the link is not in this Belvo account.
fn is_missing_link(error: &belvo::Error) -> bool {
    error.api_error().is_some_and(|e| {
        e.field.as_deref() == Some("link_id") && e.code == Some(belvo::ErrorCode::DoesNotExist)
    })
}
