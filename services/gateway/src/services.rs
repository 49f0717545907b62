//! The gateway's view of the three services: generated gRPC clients on channels that carry the
//! caller's trace context and the gateway's bearer token (grpc-runtime's `connect_lazy`, so
//! the gateway starts before its dependencies), a request builder that forwards the request
//! id, and `grpc.health.v1` checks for `/readyz`.

use std::time::Duration;

use connect_proto::data::v1::data_service_client::DataServiceClient;
use connect_proto::link::v1::link_service_client::LinkServiceClient;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use grpc_runtime::client::{ClientChannel, ClientError, connect_lazy};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::config::Clients;
use crate::middleware::current_request_id;

/// gRPC service names, as health checks know them.
pub const TOKEN_SERVICE: &str = "connect.token.v1.TokenService";
/// link-service's name.
pub const LINK_SERVICE: &str = "connect.link.v1.LinkService";
/// data-service's name.
pub const DATA_SERVICE: &str = "connect.data.v1.DataService";

/// Clients of token-, link- and data-service (cheap to clone).
#[derive(Debug, Clone)]
pub struct Services {
    /// token-service.
    pub token: TokenServiceClient<ClientChannel>,
    /// link-service.
    pub link: LinkServiceClient<ClientChannel>,
    /// data-service.
    pub data: DataServiceClient<ClientChannel>,
    /// Per dependency: its name in `/readyz`, its gRPC service name, a health client.
    health: Vec<(&'static str, &'static str, HealthClient<ClientChannel>)>,
}

impl Services {
    /// Lazy channels to every service.
    pub fn connect(config: &Clients) -> Result<Self, ClientError> {
        let token = connect_lazy(&config.token_service)?;
        let link = connect_lazy(&config.link_service)?;
        let data = connect_lazy(&config.data_service)?;
        Ok(Self {
            token: TokenServiceClient::new(token.clone()),
            link: LinkServiceClient::new(link.clone()),
            data: DataServiceClient::new(data.clone()),
            health: vec![
                ("token_service", TOKEN_SERVICE, HealthClient::new(token)),
                ("link_service", LINK_SERVICE, HealthClient::new(link)),
                ("data_service", DATA_SERVICE, HealthClient::new(data)),
            ],
        })
    }

    /// Each dependency and whether it reports SERVING, checked concurrently.
    pub async fn readiness(&self, timeout: Duration) -> Vec<(&'static str, Result<(), String>)> {
        let checks = self.health.iter().map(|(name, service, client)| {
            let mut client = client.clone();
            async move {
                let check = client.check(request(HealthCheckRequest {
                    service: (*service).to_owned(),
                }));
                let result = match tokio::time::timeout(timeout, check).await {
                    Err(_) => Err("health check timed out".to_owned()),
                    Ok(Err(status)) => Err(format!("{:?}", status.code())),
                    Ok(Ok(response)) => {
                        let status = response.into_inner().status;
                        if status == ServingStatus::Serving as i32 {
                            Ok(())
                        } else {
                            Err(format!(
                                "{:?}",
                                ServingStatus::try_from(status).unwrap_or(ServingStatus::Unknown)
                            ))
                        }
                    }
                };
                (*name, result)
            }
        });
        futures::future::join_all(checks).await
    }
}

/// A gRPC request carrying the current `x-request-id`.
pub fn request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = current_request_id().parse() {
        request.metadata_mut().insert("x-request-id", value);
    }
    request
}
