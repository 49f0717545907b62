use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{TOKEN_SERVICE, TestServer, within};

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

#[tokio::test]
async fn each_service_and_the_server_are_serving() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel.clone());
    for service in [TOKEN_SERVICE, ""] {
        let status = health
            .check(check(service))
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    // A service this process does not serve is unknown to health.
    let err = health
        .check(check("connect.link.v1.LinkService"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn shutdown_flips_health_to_not_serving_then_stops() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel.clone());
    let mut watch = health
        .watch(check(TOKEN_SERVICE))
        .await
        .unwrap()
        .into_inner();
    let first = within("first health update", watch.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    server.shutdown.trigger();
    let next = within("NOT_SERVING", watch.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);

    // Once the watcher hangs up, nothing is in flight and the drain completes.
    drop(watch);
    drop(health);
    let TestServer {
        running, channel, ..
    } = server;
    drop(channel);
    let drain = within("the server to stop", running.run_until_stopped())
        .await
        .unwrap();
    assert_eq!(drain, grpc_runtime::Drain::Complete);
}
