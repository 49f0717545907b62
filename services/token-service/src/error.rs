//! Everything a token-service call can fail with, and the one exhaustive mapping to
//! `tonic::Status` (`connect/common/v1/common.proto` conventions): bad fields are
//! INVALID_ARGUMENT with a `BadRequest`; Belvo's own errors keep Belvo's code in an
//! `ErrorInfo` (domain `belvo.com`), with Belvo down, throttling or timing out as
//! UNAVAILABLE; missing links and external ids are NOT_FOUND; storage and unexpected
//! failures are INTERNAL with a fixed message while the cause goes to the log. No message
//! carries a secret or a token.

use grpc_runtime::status::{FieldViolations, internal, platform_error};
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
    /// The external id is known, but no widget token for it (in the region) was valid when
    /// the link was created.
    #[error("no widget token for the external id when the link was created")]
    NoTokenAtLinkCreation,
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
            Self::Belvo { region, source } => belvo_accounts::status(&region, &source, request_id),
            Self::ExternalIdNotFound => platform_error(
                Code::NotFound,
                "this external_id was never issued by token-service",
                REASON_EXTERNAL_ID_NOT_FOUND,
            ),
            Self::NoTokenAtLinkCreation => platform_error(
                Code::NotFound,
                "no widget token for this external_id was valid when the link was created",
                REASON_EXTERNAL_ID_NOT_FOUND,
            ),
            Self::MissingClient(_) => internal(request_id, &self),
            Self::Storage(ref cause) => internal(request_id, cause),
        }
    }
}
