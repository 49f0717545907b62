//! A link-service stand-in on port 0 that records the `LINK` events data-service forwards.

use std::sync::{Arc, Mutex};

use connect_proto::link::v1 as pb;
use connect_proto::link::v1::link_service_server::{LinkService, LinkServiceServer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

#[derive(Debug, Clone, Default)]
pub(crate) struct FakeLinkService {
    pub(crate) events: Arc<Mutex<Vec<pb::ApplyLinkEventRequest>>>,
    /// When set, AdoptLink attributes any link to this owner (as if its external id were theirs).
    pub(crate) adopt_as: Option<String>,
    pub(crate) adoptions: Arc<Mutex<Vec<pb::AdoptLinkRequest>>>,
    /// When set, ApplyLinkEvent records the event, then answers only once it gets a permit.
    pub(crate) hold_events: Option<Arc<tokio::sync::Semaphore>>,
}

impl FakeLinkService {
    /// Serves it on a free port; returns its URL.
    pub(crate) async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let service = LinkServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
        });
        url
    }
}

#[tonic::async_trait]
impl LinkService for FakeLinkService {
    type WatchLinkStream = tonic::codegen::BoxStream<pb::WatchLinkResponse>;

    async fn watch_link(
        &self,
        _: Request<pb::WatchLinkRequest>,
    ) -> Result<Response<Self::WatchLinkStream>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn register_link(
        &self,
        _: Request<pb::RegisterLinkRequest>,
    ) -> Result<Response<pb::RegisterLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn get_link(
        &self,
        _: Request<pb::GetLinkRequest>,
    ) -> Result<Response<pb::GetLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_links(
        &self,
        _: Request<pb::ListLinksRequest>,
    ) -> Result<Response<pb::ListLinksResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn delete_link(
        &self,
        _: Request<pb::DeleteLinkRequest>,
    ) -> Result<Response<pb::DeleteLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn refresh_link(
        &self,
        _: Request<pb::RefreshLinkRequest>,
    ) -> Result<Response<pb::RefreshLinkResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn apply_link_event(
        &self,
        request: Request<pb::ApplyLinkEventRequest>,
    ) -> Result<Response<pb::ApplyLinkEventResponse>, Status> {
        let event = request.into_inner();
        self.events.lock().unwrap().push(event.clone());
        if let Some(hold) = &self.hold_events {
            hold.acquire().await.unwrap().forget();
        }
        // Belvo confirms every event here: the link takes the event's status.
        let status = match event.code() {
            pb::LinkEventCode::LinkDeleted => pb::LinkStatus::Deleted,
            pb::LinkEventCode::TokenRequired => pb::LinkStatus::TokenRequired,
            _ => pb::LinkStatus::Invalid,
        };
        Ok(Response::new(pb::ApplyLinkEventResponse {
            link: Some(pb::Link {
                link_id: event.link_id,
                status: status as i32,
                ..Default::default()
            }),
            previous_status: 0,
            changed: true,
            confirmed: true,
        }))
    }
    async fn adopt_link(
        &self,
        request: Request<pb::AdoptLinkRequest>,
    ) -> Result<Response<pb::AdoptLinkResponse>, Status> {
        let request = request.into_inner();
        self.adoptions.lock().unwrap().push(request.clone());
        let Some(owner) = &self.adopt_as else {
            return Err(Status::not_found("unknown external id"));
        };
        let link = pb::Link {
            link_id: request.link_id,
            owner: owner.clone(),
            region: request.region,
            fetch_resources: vec!["TRANSACTIONS".into()],
            refresh_rate: "7d".into(),
            ..Default::default()
        };
        Ok(Response::new(pb::AdoptLinkResponse {
            link: Some(link),
            created: true,
        }))
    }

    async fn erase_owner(
        &self,
        _: Request<pb::EraseOwnerRequest>,
    ) -> Result<Response<pb::EraseOwnerResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_erasure(
        &self,
        _: Request<pb::GetErasureRequest>,
    ) -> Result<Response<pb::GetErasureResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}
