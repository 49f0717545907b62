use telemetry::TelemetryConfig;
use telemetry::propagation::{InjectTraceContextLayer, set_parent_from_headers};
use tower::ServiceBuilder;

use crate::harness::{TestServer, token_request};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

// current_thread runtime: the server's tasks run on this thread, under the thread-local
// subscriber set below.
#[tokio::test(flavor = "current_thread")]
async fn a_traceparent_in_metadata_continues_the_trace_in_the_handler() {
    let (telemetry, dispatch) = telemetry::build("test", &TelemetryConfig::default()).unwrap();
    let _guard = tracing::dispatcher::set_default(&dispatch);
    let server = TestServer::start().await;

    let mut request = token_request();
    request
        .metadata_mut()
        .insert("traceparent", TRACEPARENT.parse().unwrap());
    let response = server.client().create_widget_token(request).await.unwrap();
    assert_eq!(response.into_inner().widget.unwrap().region, TRACE_ID);

    // Without a traceparent the handler starts a trace of its own.
    let response = server
        .client()
        .create_widget_token(token_request())
        .await
        .unwrap();
    let own = response.into_inner().widget.unwrap().region;
    assert_eq!(own.len(), 32);
    assert_ne!(own, TRACE_ID);
    telemetry.shutdown().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_client_layer_injects_the_current_span() {
    let (telemetry, dispatch) = telemetry::build("test", &TelemetryConfig::default()).unwrap();
    let _guard = tracing::dispatcher::set_default(&dispatch);
    let server = TestServer::start().await;

    let channel = ServiceBuilder::new()
        .layer(InjectTraceContextLayer)
        .service(server.channel.clone());
    let mut client =
        connect_proto::token::v1::token_service_client::TokenServiceClient::new(channel);

    // A client span that is itself part of an upstream trace (as in the gateway).
    let span = tracing::info_span!("gateway request");
    let mut upstream = http::HeaderMap::new();
    upstream.insert("traceparent", TRACEPARENT.parse().unwrap());
    set_parent_from_headers(&span, &upstream);

    let response =
        tracing::Instrument::instrument(client.create_widget_token(token_request()), span)
            .await
            .unwrap();
    assert_eq!(response.into_inner().widget.unwrap().region, TRACE_ID);
    telemetry.shutdown().unwrap();
}
