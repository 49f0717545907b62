//! What can go wrong in a link-service call, and the one exhaustive mapping from it to
//! `tonic::Status` that follows `connect/common/v1/common.proto`: bad fields as
//! INVALID_ARGUMENT with `BadRequest`, the platform's own reasons as `ErrorInfo` (domain
//! `connect.platform`), Belvo's failures with Belvo's code kept (domain `belvo.com`), and
//! everything unexpected as INTERNAL with a fixed message while the cause is logged.

use grpc_runtime::status::{self, FieldViolations};
use tonic::{Code, Status};

/// `ErrorInfo.reason`: the link's Belvo `external_id` is not the caller's.
pub const EXTERNAL_ID_MISMATCH: &str = "EXTERNAL_ID_MISMATCH";
/// `ErrorInfo.reason`: the link is already registered to another owner.
pub const LINK_OWNED_BY_ANOTHER_OWNER: &str = "LINK_OWNED_BY_ANOTHER_OWNER";
/// `ErrorInfo.reason`: token-service never minted the external id.
pub const EXTERNAL_ID_UNKNOWN: &str = "EXTERNAL_ID_UNKNOWN";
/// `ErrorInfo.reason`: the operation needs a link that is not DELETED.
pub const LINK_DELETED: &str = "LINK_DELETED";
/// `ErrorInfo.reason`: the link is not registered (or not the caller's).
pub const LINK_NOT_FOUND: &str = "LINK_NOT_FOUND";

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceError {
    /// Request fields are missing or malformed.
    #[error("invalid request")]
    InvalidArgument(FieldViolations),
    /// The link is not registered, or (when the request named an owner) not the owner's.
    #[error("link not found")]
    LinkNotFound,
    /// No configured region's Belvo account has the link.
    #[error("link not found at Belvo in any configured region")]
    NotAtBelvo,
    /// The link's Belvo `external_id` does not belong to the caller.
    #[error("the link's external id is not the owner's")]
    ExternalIdMismatch,
    /// Another owner registered the link first.
    #[error("the link is registered to another owner")]
    OwnedByAnotherOwner,
    /// token-service never minted this external id.
    #[error("unknown external id")]
    ExternalIdUnknown,
    /// The external id is known, but its owner was not linking when Belvo created the link
    /// (no widget token for it was valid then).
    #[error("no widget token for the external id was valid when the link was created")]
    NotLinkingThen,
    /// The link is DELETED and the operation needs a live one.
    #[error("the link is deleted")]
    LinkDeleted,
    /// No erasure of the owner was asked for.
    #[error("no erasure of this owner was asked for")]
    NoErasure,
    /// Belvo failed or refused.
    #[error("Belvo call to region {region} failed")]
    Belvo {
        /// The region whose Belvo account was called.
        region: String,
        /// What Belvo (or the way to it) did.
        #[source]
        source: belvo::Error,
    },
    /// token-service failed.
    #[error("token-service call failed: {0}")]
    TokenService(#[source] Status),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Anything else unexpected (a stored row that does not decode, ...).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<FieldViolations> for ServiceError {
    fn from(violations: FieldViolations) -> Self {
        Self::InvalidArgument(violations)
    }
}

impl ServiceError {
    /// The status sent to the caller. Internal causes are logged here, once.
    pub(crate) fn into_status(self, request_id: Option<&str>) -> Status {
        match self {
            Self::InvalidArgument(violations) => violations.into_status(),
            Self::LinkNotFound => {
                status::platform_error(Code::NotFound, "link not found", LINK_NOT_FOUND)
            }
            Self::NoErasure => Status::not_found("no erasure of this owner was asked for"),
            Self::NotAtBelvo => belvo_reason(
                Code::NotFound,
                "Belvo has no such link in any configured region",
                "not_found",
            ),
            Self::ExternalIdMismatch => status::platform_error(
                Code::PermissionDenied,
                "the link was not created for this owner",
                EXTERNAL_ID_MISMATCH,
            ),
            Self::OwnedByAnotherOwner => status::platform_error(
                Code::PermissionDenied,
                "the link is registered to another owner",
                LINK_OWNED_BY_ANOTHER_OWNER,
            ),
            Self::ExternalIdUnknown => status::platform_error(
                Code::NotFound,
                "the external id was not minted by this platform",
                EXTERNAL_ID_UNKNOWN,
            ),
            Self::NotLinkingThen => status::platform_error(
                Code::NotFound,
                "no widget token for the link's external id was valid when Belvo created it",
                EXTERNAL_ID_UNKNOWN,
            ),
            Self::LinkDeleted => status::platform_error(
                Code::FailedPrecondition,
                "the link is deleted",
                LINK_DELETED,
            ),
            Self::Belvo { region, source } => belvo_accounts::status(&region, &source, request_id),
            Self::TokenService(err) => match err.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                    tracing::warn!(
                        request_id = request_id.unwrap_or_default(),
                        code = ?err.code(),
                        message = err.message(),
                        "token-service unavailable"
                    );
                    Status::unavailable("token-service is unavailable; retry later")
                }
                _ => status::internal(request_id, &TokenServiceFailure(err)),
            },
            Self::Database(err) => status::internal(request_id, &err),
            Self::Internal(err) => status::internal(request_id, err.as_ref()),
        }
    }
}

/// A token-service status as an error for the log.
#[derive(Debug, thiserror::Error)]
#[error("token-service answered {:?}: {}", .0.code(), .0.message())]
struct TokenServiceFailure(Status);

fn belvo_reason(code: Code, message: &str, reason: &str) -> Status {
    status::belvo_error(code, message, reason, None, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::StatusExt as _;

    #[test]
    fn platform_reasons_travel_as_error_info() {
        let status = ServiceError::ExternalIdMismatch.into_status(None);
        assert_eq!(status.code(), Code::PermissionDenied);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, EXTERNAL_ID_MISMATCH);
        assert_eq!(info.domain, status::PLATFORM_DOMAIN);
    }

    #[test]
    fn unexpected_errors_are_opaque() {
        let err = ServiceError::Internal(anyhow::anyhow!("secret detail"));
        let status = err.into_status(Some("req-9"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret detail"));
        assert!(status.message().contains("req-9"));
    }

    #[test]
    fn token_service_outage_is_unavailable() {
        let err = ServiceError::TokenService(Status::unavailable("connection refused"));
        assert_eq!(err.into_status(None).code(), Code::Unavailable);
    }
}
