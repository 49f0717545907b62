//! What link-service tells data-service: that a link was registered or adopted
//! (`NotifyLinkRegistered`, so data-service processes the webhooks it held for the link), best
//! effort, since data-service adopts links named in webhooks itself; and that a link was
//! removed (`PurgeLink`), which the removal worker retries until data-service confirms it
//! (`crate::removals`). The channel comes from the optional `[clients.data_service]`
//! configuration; without it nothing is called.

use connect_proto::data::v1::data_service_client::DataServiceClient;
use connect_proto::data::v1::{NotifyLinkRegisteredRequest, PurgeLinkRequest};
use grpc_runtime::client::ClientChannel;
use tonic::Status;

use crate::store::LinkRow;

/// A data-service client, or nothing when none is configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct DataService {
    client: Option<DataServiceClient<ClientChannel>>,
}

impl DataService {
    pub(crate) fn new(channel: Option<ClientChannel>) -> Self {
        Self {
            client: channel.map(DataServiceClient::new),
        }
    }

    /// Tells data-service that `link` is registered. Never fails; a failure is logged.
    pub(crate) async fn link_registered(&self, link: &LinkRow) {
        let Some(client) = &self.client else { return };
        let request = NotifyLinkRegisteredRequest {
            link_id: link.link_id.clone(),
            region: link.region.clone(),
            owner: link.owner.clone(),
            fetch_resources: link.fetch_resources.clone(),
            refresh_rate: link.refresh_rate.clone().unwrap_or_default(),
        };
        match client.clone().notify_link_registered(request).await {
            Ok(response) => tracing::debug!(
                link_id = %link.link_id,
                released_webhooks = response.into_inner().released_webhooks,
                "data-service told about the link"
            ),
            Err(status) => tracing::warn!(
                link_id = %link.link_id,
                code = ?status.code(),
                message = status.message(),
                "cannot tell data-service about a registered link; it processes the link's \
                 webhooks once it adopts the link itself"
            ),
        }
    }

    /// Asks data-service to drop what it stored for `link_id` (and, with `erase`, what ties
    /// the link to its owner). Without a data-service there is nothing to drop.
    pub(crate) async fn purge_confirmed(&self, link_id: &str, erase: bool) -> Result<(), Status> {
        let Some(client) = &self.client else {
            return Ok(());
        };
        let request = PurgeLinkRequest {
            link_id: link_id.to_owned(),
            erase,
        };
        let deleted = client.clone().purge_link(request).await?.into_inner();
        tracing::info!(
            link_id,
            records_deleted = deleted.records_deleted,
            erase,
            "data-service purged the link's data"
        );
        Ok(())
    }
}
