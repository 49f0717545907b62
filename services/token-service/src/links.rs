//! The question update mode asks link-service: "does this owner have this link, and in
//! which region?" (`GetLink` with the owner; `NOT_FOUND` means the owner does not have it).
//! The client is optional: without link-service, update mode is refused clearly and every
//! other call works.

use std::time::Duration;

use connect_proto::link::v1::link_service_client::LinkServiceClient;
use connect_proto::link::v1::{GetLinkRequest, LinkStatus};
use secrecy::{ExposeSecret as _, SecretString};
use tonic::transport::{Channel, Endpoint};

/// What link-service said about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// The owner has the link, in this region.
    Owned {
        /// The link's region key.
        region: String,
    },
    /// The owner does not have the link (or nobody does).
    NotOwned,
}

/// Why link-service could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkLookupError {
    /// It could not be reached, timed out or said it is unavailable.
    #[error("link-service is unavailable: {0}")]
    Unavailable(String),
    /// It answered with an unexpected error.
    #[error("link-service answered {code:?}: {message}")]
    Failed {
        /// The gRPC code.
        code: tonic::Code,
        /// Its message.
        message: String,
    },
}

/// A link-service client for ownership checks. Cheap to clone.
#[derive(Clone)]
pub struct LinkDirectory {
    client: LinkServiceClient<Channel>,
    bearer_token: Option<SecretString>,
    timeout: Duration,
}

impl std::fmt::Debug for LinkDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkDirectory")
            .field("timeout", &self.timeout)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

impl LinkDirectory {
    /// A client for link-service at `url` (e.g. `http://127.0.0.1:50052`). The connection
    /// is made lazily, so token-service starts even while link-service is not up yet.
    pub fn connect_lazy(
        url: &str,
        bearer_token: Option<SecretString>,
        timeout: Duration,
    ) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_lazy();
        Ok(Self {
            client: LinkServiceClient::new(channel),
            bearer_token,
            timeout,
        })
    }

    /// Whether `owner` has `link_id`.
    pub(crate) async fn ownership(
        &self,
        link_id: &str,
        owner: &str,
        request_id: Option<&str>,
    ) -> Result<Ownership, LinkLookupError> {
        let mut request = tonic::Request::new(GetLinkRequest {
            link_id: link_id.to_owned(),
            owner: owner.to_owned(),
        });
        request.set_timeout(self.timeout);
        if let Some(token) = &self.bearer_token {
            let value = format!("Bearer {}", token.expose_secret())
                .parse()
                .map_err(|_| LinkLookupError::Failed {
                    code: tonic::Code::Internal,
                    message: "the configured bearer token is not a valid header value".into(),
                })?;
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(id) = request_id.and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert("x-request-id", id);
        }
        match self.client.clone().get_link(request).await {
            Ok(response) => match response.into_inner().link {
                Some(link) if link.owner == owner && link.status != LinkStatus::Deleted as i32 => {
                    Ok(Ownership::Owned {
                        region: link.region,
                    })
                }
                // A deleted link (Belvo no longer has it), a link without an owner, or
                // another owner's (a link-service that ignored the owner filter): never one
                // the caller can update.
                _ => Ok(Ownership::NotOwned),
            },
            Err(status) => match status.code() {
                tonic::Code::NotFound => Ok(Ownership::NotOwned),
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                    Err(LinkLookupError::Unavailable(status.message().to_owned()))
                }
                code => Err(LinkLookupError::Failed {
                    code,
                    message: status.message().to_owned(),
                }),
            },
        }
    }
}
