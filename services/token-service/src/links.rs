//! The question update mode asks link-service: "does this owner have this link, and in
//! which region?" (`GetLink` with the owner; `NOT_FOUND` means the owner does not have it).
//! The client is optional: without link-service, update mode is refused clearly and every
//! other call works.

use connect_proto::link::v1::link_service_client::LinkServiceClient;
use connect_proto::link::v1::{GetLinkRequest, LinkStatus};
use grpc_runtime::client::{self, ClientChannel, ClientConfig, ClientError};

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
#[derive(Debug, Clone)]
pub struct LinkDirectory {
    client: LinkServiceClient<ClientChannel>,
}

impl LinkDirectory {
    /// A client for link-service as `config` says (`[clients.link_service]`). The connection
    /// is made lazily, so token-service starts even while link-service is not up yet.
    pub fn connect_lazy(config: &ClientConfig) -> Result<Self, ClientError> {
        Ok(Self {
            client: LinkServiceClient::new(client::connect_lazy(config)?),
        })
    }

    /// Whether `owner` has `link_id`.
    pub(crate) async fn ownership(
        &self,
        link_id: &str,
        owner: &str,
    ) -> Result<Ownership, LinkLookupError> {
        let request = GetLinkRequest {
            link_id: link_id.to_owned(),
            owner: owner.to_owned(),
        };
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
