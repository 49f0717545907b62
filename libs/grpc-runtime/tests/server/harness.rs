//! Starts a server with a probe service and gives tests clients for it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use connect_proto::token::v1::token_service_client::TokenServiceClient;
use connect_proto::token::v1::token_service_server::{TokenService, TokenServiceServer};
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, CreateWidgetTokenResponse, EraseOwnerRequest, EraseOwnerResponse,
    ResolveExternalIdRequest, ResolveExternalIdResponse, WidgetConfig,
};
use grpc_runtime::{Caller, RunningServer, ServerConfig, ServiceSet, Shutdown, serve};
use tokio::sync::{Notify, Semaphore};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub(crate) const TOKEN_SERVICE: &str = "connect.token.v1.TokenService";
pub(crate) const GATEWAY_TOKEN: &str = "gateway-token-0123456789";

/// A probe, not a token service: `CreateWidgetToken` reports what the handler saw
/// (`access_token` = the authenticated caller or `anonymous`, `widget.external_id` = the
/// request id, `widget.region` = the trace id of the handler's span).
/// `ResolveExternalId` with `pending` never answers; with `gated` it signals `entered`
/// and waits for a permit on `gate`.
#[derive(Clone)]
pub(crate) struct Probe {
    pub(crate) entered: Arc<Notify>,
    pub(crate) gate: Arc<Semaphore>,
}

impl Default for Probe {
    fn default() -> Self {
        Self {
            entered: Arc::new(Notify::new()),
            gate: Arc::new(Semaphore::new(0)),
        }
    }
}

#[tonic::async_trait]
impl TokenService for Probe {
    async fn create_widget_token(
        &self,
        request: Request<CreateWidgetTokenRequest>,
    ) -> Result<Response<CreateWidgetTokenResponse>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .map_or_else(|| "anonymous".to_owned(), |c| c.0.clone());
        let request_id = grpc_runtime::status::request_id(&request)
            .unwrap_or_default()
            .to_owned();
        let trace_id =
            telemetry::propagation::trace_id(&tracing::Span::current()).unwrap_or_default();
        Ok(Response::new(CreateWidgetTokenResponse {
            access_token: caller,
            expires_at: None,
            widget: Some(WidgetConfig {
                external_id: request_id,
                region: trace_id,
                ..WidgetConfig::default()
            }),
        }))
    }

    async fn resolve_external_id(
        &self,
        request: Request<ResolveExternalIdRequest>,
    ) -> Result<Response<ResolveExternalIdResponse>, Status> {
        match request.get_ref().external_id.as_str() {
            "pending" => std::future::pending().await,
            "gated" => {
                self.entered.notify_one();
                let _permit = self
                    .gate
                    .acquire()
                    .await
                    .map_err(|_| Status::internal("gate closed"))?;
                Ok(Response::new(ResolveExternalIdResponse {
                    owner: "gated-owner".into(),
                    first_issued_at: None,
                }))
            }
            _ => Err(Status::not_found("unknown external id")),
        }
    }

    async fn erase_owner(
        &self,
        _: Request<EraseOwnerRequest>,
    ) -> Result<Response<EraseOwnerResponse>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

pub(crate) struct TestServer {
    pub(crate) running: RunningServer,
    pub(crate) shutdown: Shutdown,
    pub(crate) probe: Probe,
    pub(crate) channel: Channel,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(ServerConfig::for_tests()).await
    }

    pub(crate) async fn start_with(config: ServerConfig) -> Self {
        Self::start_ready_when(config, grpc_runtime::Readiness::ready()).await
    }

    /// A server whose health is NOT_SERVING until `readiness` holds.
    pub(crate) async fn start_ready_when(
        config: ServerConfig,
        readiness: grpc_runtime::Readiness,
    ) -> Self {
        let probe = Probe::default();
        let services = ServiceSet::new()
            .service(TokenServiceServer::new(probe.clone()))
            .file_descriptor_set(connect_proto::FILE_DESCRIPTOR_SET)
            .ready_when(readiness);
        let listeners = grpc_runtime::Listeners::bind(config.listen_addr, config.admin_addr)
            .await
            .unwrap();
        let shutdown = Shutdown::new();
        let registry = prometheus::Registry::new();
        let running = serve(services, listeners, &config, &registry, shutdown.clone())
            .await
            .unwrap();
        let channel = channel(running.addr()).await;
        Self {
            running,
            shutdown,
            probe,
            channel,
        }
    }

    pub(crate) fn client(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.channel.clone())
    }

    pub(crate) fn admin_addr(&self) -> SocketAddr {
        self.running.admin_addr()
    }
}

pub(crate) async fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub(crate) fn token_request() -> Request<CreateWidgetTokenRequest> {
    Request::new(CreateWidgetTokenRequest {
        region: "mx".into(),
        owner: "user-1".into(),
        ..CreateWidgetTokenRequest::default()
    })
}

pub(crate) fn with_bearer<T>(mut request: Request<T>, token: &str) -> Request<T> {
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Awaits `f` with a deadline, so a hang fails the test instead of stalling it.
pub(crate) async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Fetches the admin `/metrics` text.
pub(crate) async fn scrape(admin: SocketAddr) -> String {
    let response = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.text().await.unwrap()
}
