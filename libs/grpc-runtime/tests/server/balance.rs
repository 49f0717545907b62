//! A client configured with several addresses spreads its calls over all of them (as over
//! the pods of a headless Service), instead of pinning them to one HTTP/2 connection.

use std::collections::BTreeMap;

use connect_proto::token::v1::token_service_client::TokenServiceClient;
use connect_proto::token::v1::token_service_server::{TokenService, TokenServiceServer};
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, CreateWidgetTokenResponse, EraseOwnerRequest, EraseOwnerResponse,
    ResolveExternalIdRequest, ResolveExternalIdResponse,
};
use grpc_runtime::client::{ClientConfig, connect_lazy};
use grpc_runtime::{Listeners, RunningServer, ServerConfig, ServiceSet, Shutdown, serve};
use tonic::{Request, Response, Status};

use crate::harness::token_request;

/// Answers with its own name.
struct Named(&'static str);

#[tonic::async_trait]
impl TokenService for Named {
    async fn create_widget_token(
        &self,
        _: Request<CreateWidgetTokenRequest>,
    ) -> Result<Response<CreateWidgetTokenResponse>, Status> {
        Ok(Response::new(CreateWidgetTokenResponse {
            access_token: self.0.to_owned(),
            ..Default::default()
        }))
    }

    async fn resolve_external_id(
        &self,
        _: Request<ResolveExternalIdRequest>,
    ) -> Result<Response<ResolveExternalIdResponse>, Status> {
        Err(Status::unimplemented("not here"))
    }

    async fn erase_owner(
        &self,
        _: Request<EraseOwnerRequest>,
    ) -> Result<Response<EraseOwnerResponse>, Status> {
        Err(Status::unimplemented("not here"))
    }
}

async fn replica(name: &'static str) -> RunningServer {
    serve(
        ServiceSet::new().service(TokenServiceServer::new(Named(name))),
        Listeners::local().await.unwrap(),
        &ServerConfig::for_tests(),
        &prometheus::Registry::new(),
        Shutdown::new(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn calls_are_spread_over_every_replica() {
    let replicas = [replica("a").await, replica("b").await, replica("c").await];
    let url = replicas
        .iter()
        .map(|r| format!("http://{}", r.addr()))
        .collect::<Vec<_>>()
        .join(",");
    let mut client = TokenServiceClient::new(connect_lazy(&ClientConfig::new(url)).unwrap());
    let mut answered = BTreeMap::<String, usize>::new();
    for _ in 0..90 {
        let name = client
            .create_widget_token(token_request())
            .await
            .unwrap()
            .into_inner()
            .access_token;
        *answered.entry(name).or_default() += 1;
    }
    assert_eq!(answered.len(), 3, "every replica answered: {answered:?}");
    assert!(
        answered.values().all(|&n| n >= 10),
        "none starved: {answered:?}"
    );
    for r in replicas {
        r.stop().await.unwrap();
    }
}

#[test]
fn every_url_of_the_list_is_checked() {
    let mut report = settings::Report::new();
    settings::Validate::validate(
        &ClientConfig::new("http://a:1, token-service:50051"),
        &mut report,
    );
    assert_eq!(report.violations().len(), 1, "{:?}", report.violations());
    assert!(connect_lazy(&ClientConfig::new("http://a:1,ftp://b:2")).is_err());
}
