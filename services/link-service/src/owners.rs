//! Who owns an `external_id`: token-service derives external ids from owners (a keyed
//! hash) and records each one it mints, so link-service asks it over gRPC
//! (`ResolveExternalId`) rather than knowing the key. The channel comes from the
//! `[clients.token_service]` configuration; tests point it at a fake token-service.

use connect_proto::token::v1::token_service_client::TokenServiceClient;
use connect_proto::token::v1::{EraseOwnerRequest, ResolveExternalIdRequest};
use grpc_runtime::client::ClientChannel;
use tonic::{Code, Status};

/// A token-service client that resolves external ids.
#[derive(Debug, Clone)]
pub(crate) struct ExternalIds {
    client: TokenServiceClient<ClientChannel>,
}

impl ExternalIds {
    pub(crate) fn new(channel: ClientChannel) -> Self {
        Self {
            client: TokenServiceClient::new(channel),
        }
    }

    /// The owner `external_id` was minted for; `None` when token-service never minted it
    /// (or finds it malformed, which amounts to the same).
    pub(crate) async fn owner_of(&self, external_id: &str) -> Result<Option<String>, Status> {
        self.resolve(ResolveExternalIdRequest {
            external_id: external_id.to_owned(),
            ..Default::default()
        })
        .await
    }

    /// The owner of a link Belvo created at `created_at` in `region` with `external_id`:
    /// `None` unless a widget token for that external id and region was valid then (see
    /// token-service's `ResolveExternalId`).
    pub(crate) async fn owner_at_creation(
        &self,
        external_id: &str,
        region: &str,
        created_at: prost_types::Timestamp,
    ) -> Result<Option<String>, Status> {
        self.resolve(ResolveExternalIdRequest {
            external_id: external_id.to_owned(),
            link_created_at: Some(created_at),
            region: region.to_owned(),
        })
        .await
    }

    /// Has token-service forget `owner` (their external ids and audit rows).
    pub(crate) async fn erase(&self, owner: &str) -> Result<(), Status> {
        let request = EraseOwnerRequest {
            owner: owner.to_owned(),
        };
        self.client.clone().erase_owner(request).await?;
        Ok(())
    }

    async fn resolve(&self, request: ResolveExternalIdRequest) -> Result<Option<String>, Status> {
        match self.client.clone().resolve_external_id(request).await {
            Ok(response) => Ok(Some(response.into_inner().owner)),
            Err(status) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                Ok(None)
            }
            Err(status) => Err(status),
        }
    }
}
