use std::time::Duration;

use grpc_runtime::{Drain, ServerConfig};

use crate::harness::{TestServer, within};

#[tokio::test]
async fn in_flight_calls_finish_during_the_drain() {
    let server = TestServer::start().await;
    let mut client = server.client();
    let call = tokio::spawn(async move {
        client
            .resolve_external_id(connect_proto::token::v1::ResolveExternalIdRequest {
                external_id: "gated".into(),
                ..Default::default()
            })
            .await
    });
    within(
        "the call to reach its handler",
        server.probe.entered.notified(),
    )
    .await;

    server.shutdown.trigger();
    // Still draining: the call is held by its handler.
    server.probe.gate.add_permits(1);
    let response = within("the call", call).await.unwrap().unwrap();
    assert_eq!(response.into_inner().owner, "gated-owner");

    let TestServer {
        running, channel, ..
    } = server;
    drop(channel);
    assert_eq!(
        within("the drain", running.run_until_stopped())
            .await
            .unwrap(),
        Drain::Complete
    );
}

#[tokio::test]
async fn the_drain_is_bounded_by_the_grace_period() {
    let mut config = ServerConfig::for_tests();
    config.shutdown_grace = Duration::from_millis(300);
    let server = TestServer::start_with(config).await;
    let mut client = server.client();
    let call = tokio::spawn(async move {
        client
            .resolve_external_id(connect_proto::token::v1::ResolveExternalIdRequest {
                external_id: "gated".into(),
                ..Default::default()
            })
            .await
    });
    within(
        "the call to reach its handler",
        server.probe.entered.notified(),
    )
    .await;

    server.shutdown.trigger();
    let TestServer { running, probe, .. } = server;
    // The handler never gets its permit before the grace period ends the drain.
    assert_eq!(
        within("the drain", running.run_until_stopped())
            .await
            .unwrap(),
        Drain::TimedOut
    );
    assert!(
        !call.is_finished(),
        "the call was still running when the drain gave up"
    );
    // (In a service, `main` returns next and the process exit ends the call.)
    probe.gate.add_permits(1);
    let _ = within("the abandoned call", call).await;
}

#[tokio::test]
async fn new_connections_are_refused_after_shutdown() {
    let server = TestServer::start().await;
    let addr = server.running.addr();
    server.shutdown.trigger();
    let TestServer {
        running, channel, ..
    } = server;
    drop(channel);
    within("the drain", running.run_until_stopped())
        .await
        .unwrap();
    let refused = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err());
}
