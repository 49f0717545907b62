use crate::harness::{TestServer, token_request};

#[tokio::test]
async fn a_request_id_is_generated_and_echoed() {
    let server = TestServer::start().await;
    let response = server
        .client()
        .create_widget_token(token_request())
        .await
        .unwrap();
    let echoed = response
        .metadata()
        .get("x-request-id")
        .expect("x-request-id in the response")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(echoed.len(), 36, "a UUID: {echoed}");
    // The handler saw the same id.
    assert_eq!(response.into_inner().widget.unwrap().external_id, echoed);
}

#[tokio::test]
async fn a_caller_request_id_is_kept_also_on_errors() {
    let server = TestServer::start().await;
    let mut request = token_request();
    request
        .metadata_mut()
        .insert("x-request-id", "req-from-gateway-1".parse().unwrap());
    let response = server.client().create_widget_token(request).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "req-from-gateway-1"
    );
    assert_eq!(
        response.into_inner().widget.unwrap().external_id,
        "req-from-gateway-1"
    );

    let mut request = tonic::Request::new(connect_proto::token::v1::ResolveExternalIdRequest {
        external_id: "nobody".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("x-request-id", "req-from-gateway-2".parse().unwrap());
    let status = server
        .client()
        .resolve_external_id(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(
        status.metadata().get("x-request-id").unwrap(),
        "req-from-gateway-2"
    );
}
