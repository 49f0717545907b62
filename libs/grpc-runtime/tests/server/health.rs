use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{TOKEN_SERVICE, TestServer, token_request, within};

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

async fn statuses(health: &mut HealthClient<tonic::transport::Channel>) -> Vec<i32> {
    let mut out = Vec::new();
    for service in [TOKEN_SERVICE, ""] {
        out.push(
            health
                .check(check(service))
                .await
                .unwrap()
                .into_inner()
                .status,
        );
    }
    out
}

#[tokio::test]
async fn health_is_not_serving_until_the_readiness_condition_holds() {
    let (mark, readiness) = grpc_runtime::Readiness::manual();
    let server =
        TestServer::start_ready_when(grpc_runtime::ServerConfig::for_tests(), readiness.clone())
            .await;
    let mut health = HealthClient::new(server.channel.clone());
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(statuses(&mut health).await, [not_serving, not_serving]);
    // Calls are still served (only the probes say "not yet").
    server
        .client()
        .create_widget_token(token_request())
        .await
        .unwrap();

    let mut watch = health.watch(check("")).await.unwrap().into_inner();
    let first = within("first health update", watch.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, not_serving);
    mark.ready();
    let next = within("SERVING once ready", watch.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.status, ServingStatus::Serving as i32);
    let serving = ServingStatus::Serving as i32;
    assert_eq!(statuses(&mut health).await, [serving, serving]);
    assert!(readiness.is_ready());
    drop(watch);
    drop(health);
    let TestServer {
        running, channel, ..
    } = server;
    drop(channel);
    within("the server to stop", running.stop()).await.unwrap();
}

#[tokio::test]
async fn a_shutdown_before_readiness_stays_not_serving() {
    let (mark, readiness) = grpc_runtime::Readiness::manual();
    let config = grpc_runtime::ServerConfig {
        shutdown_grace: std::time::Duration::from_secs(1),
        ..grpc_runtime::ServerConfig::for_tests()
    };
    let server = TestServer::start_ready_when(config, readiness).await;
    let mut health = HealthClient::new(server.channel.clone());
    let mut watch = health.watch(check("")).await.unwrap().into_inner();
    let first = within("first health update", watch.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.status, ServingStatus::NotServing as i32);

    server.shutdown.trigger();
    // Readiness arriving after the shutdown must not report SERVING again.
    mark.ready();
    // No update may say SERVING (the deadline is the assertion: nothing must arrive).
    if let Ok(update) =
        tokio::time::timeout(std::time::Duration::from_millis(500), watch.message()).await
        && let Ok(Some(update)) = update
    {
        assert_eq!(update.status, ServingStatus::NotServing as i32);
    }
    drop(watch);
    drop(health);
    let TestServer {
        running, channel, ..
    } = server;
    drop(channel);
    within("the server to stop", running.run_until_stopped())
        .await
        .unwrap();
}
