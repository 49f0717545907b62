use grpc_runtime::ServerConfig;
use secrecy::SecretString;
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1alpha;

use crate::harness::{GATEWAY_TOKEN, TestServer, token_request, with_bearer};

pub(crate) fn config_with_tokens() -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    config
        .auth_tokens
        .insert("gateway".into(), SecretString::from(GATEWAY_TOKEN));
    config.auth_tokens.insert(
        "reporting".into(),
        SecretString::from("reporting-token-0123456789"),
    );
    config
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_rejected() {
    let server = TestServer::start_with(config_with_tokens()).await;
    let mut client = server.client();

    let status = client
        .create_widget_token(token_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // The answer says nothing about why.
    assert_eq!(status.message(), "unauthenticated");

    let status = client
        .create_widget_token(with_bearer(token_request(), "gateway-token-wrong"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    let mut basic = token_request();
    basic.metadata_mut().insert(
        "authorization",
        format!("Basic {GATEWAY_TOKEN}").parse().unwrap(),
    );
    let status = client.create_widget_token(basic).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_valid_token_names_the_caller() {
    let server = TestServer::start_with(config_with_tokens()).await;
    let mut client = server.client();
    let response = client
        .create_widget_token(with_bearer(token_request(), GATEWAY_TOKEN))
        .await
        .unwrap();
    assert_eq!(response.into_inner().access_token, "gateway");
    let response = client
        .create_widget_token(with_bearer(token_request(), "reporting-token-0123456789"))
        .await
        .unwrap();
    assert_eq!(response.into_inner().access_token, "reporting");
}

#[tokio::test]
async fn health_and_reflection_stay_open() {
    let server = TestServer::start_with(config_with_tokens()).await;
    let mut health = HealthClient::new(server.channel.clone());
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health needs no token");

    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    let mut reflection = ServerReflectionClient::new(server.channel.clone());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection needs no token")
        .into_inner();
    assert!(responses.next().await.unwrap().is_ok());
}

#[tokio::test]
async fn without_tokens_configured_calls_are_anonymous() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .create_widget_token(token_request())
        .await
        .unwrap();
    assert_eq!(response.into_inner().access_token, "anonymous");
}

#[tokio::test]
async fn the_client_channel_sends_its_bearer_token() {
    let server = TestServer::start_with(config_with_tokens()).await;
    let mut config =
        grpc_runtime::client::ClientConfig::new(format!("http://{}", server.running.addr()));
    config.bearer_token = Some(SecretString::from(GATEWAY_TOKEN));
    let channel = grpc_runtime::client::connect_lazy(&config).unwrap();
    let mut client =
        connect_proto::token::v1::token_service_client::TokenServiceClient::new(channel);
    let response = client.create_widget_token(token_request()).await.unwrap();
    assert_eq!(response.into_inner().access_token, "gateway");

    config.bearer_token = None;
    let channel = grpc_runtime::client::connect_lazy(&config).unwrap();
    let mut client =
        connect_proto::token::v1::token_service_client::TokenServiceClient::new(channel);
    let status = client
        .create_widget_token(token_request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}
