//! Who may call what (issue 14). With internal authentication on, each RPC admits the services
//! of its flow and operators; a user's call must name its owner; every operator call is recorded
//! before it acts and listed by `ListOperatorCalls`. Without it (development), every call is
//! admitted and the operator-only ones are recorded as `unauthenticated`.

use connect_proto::audit::v1::ListOperatorCallsRequest;
use connect_proto::audit::v1::operator_audit_service_client::OperatorAuditServiceClient;
use connect_proto::data::v1 as pb;
use connect_proto::data::v1::data_service_client::DataServiceClient;
use connect_proto::sealing::v1::GetKeyUsageRequest;
use connect_proto::sealing::v1::key_usage_service_client::KeyUsageServiceClient;
use database::Backend;
use grpc_runtime::ServerConfig;
use grpc_runtime::client::{ClientChannel, ClientConfig, connect_lazy};
use secrecy::SecretString;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use uuid::Uuid;

use crate::both_backends;
use crate::support::{Harness, fast_sync};

/// The callers' canonical names and tokens.
const CALLERS: [(&str, &str); 3] = [
    ("gateway", "token-of-the-gateway-0123"),
    ("link-service", "token-of-link-service-012"),
    ("operator-bob", "token-of-operator-bob-012"),
];

fn channel(h: &Harness, caller: &str) -> ClientChannel {
    let (_, token) = CALLERS.iter().find(|c| c.0 == caller).unwrap();
    let mut config = ClientConfig::new(h.url());
    config.bearer_token = Some(SecretString::from(*token));
    connect_lazy(&config).unwrap()
}

/// Calls `rpc` for `owner` about a link data-service never heard of: an admitted call ends in
/// NOT_FOUND, INVALID_ARGUMENT or success, never in a refusal by the access check.
async fn call(channel: ClientChannel, rpc: &str, owner: &str) -> Result<(), Status> {
    let mut data = DataServiceClient::new(channel.clone());
    let (link_id, owner) = (Uuid::new_v4().to_string(), owner.to_owned());
    match rpc {
        "IngestWebhook" => data
            .ingest_webhook(pb::IngestWebhookRequest {
                region: "mx".into(),
                body: b"{}".to_vec(),
            })
            .await
            .map(drop),
        "NotifyLinkRegistered" => data
            .notify_link_registered(pb::NotifyLinkRegisteredRequest {
                link_id,
                ..Default::default()
            })
            .await
            .map(drop),
        "ListRecords" => data
            .list_records(pb::ListRecordsRequest {
                link_id,
                owner,
                resource: pb::Resource::Accounts as i32,
                ..Default::default()
            })
            .await
            .map(drop),
        "ListTransactions" => data
            .list_transactions(pb::ListTransactionsRequest {
                link_id,
                owner,
                ..Default::default()
            })
            .await
            .map(drop),
        "GetSyncStatus" => data
            .get_sync_status(pb::GetSyncStatusRequest { link_id, owner })
            .await
            .map(drop),
        "WatchSyncStatus" => data
            .watch_sync_status(pb::WatchSyncStatusRequest { link_id, owner })
            .await
            .map(drop),
        "ListChanges" => data
            .list_changes(pb::ListChangesRequest {
                link_id,
                owner,
                ..Default::default()
            })
            .await
            .map(drop),
        "WatchChanges" => data
            .watch_changes(pb::WatchChangesRequest {
                link_ids: vec![link_id],
                owner,
            })
            .await
            .map(drop),
        "ResyncLink" => data
            .resync_link(pb::ResyncLinkRequest {
                link_id,
                owner,
                ..Default::default()
            })
            .await
            .map(drop),
        "PurgeLink" => data
            .purge_link(pb::PurgeLinkRequest {
                link_id,
                erase: false,
            })
            .await
            .map(drop),
        "ListWebhookEvents" => data
            .list_webhook_events(pb::ListWebhookEventsRequest::default())
            .await
            .map(drop),
        "ReplayWebhookEvent" => data
            .replay_webhook_event(pb::ReplayWebhookEventRequest {
                webhook_id: "never-seen".into(),
            })
            .await
            .map(drop),
        "GetKeyUsage" => KeyUsageServiceClient::new(channel)
            .get_key_usage(GetKeyUsageRequest {})
            .await
            .map(drop),
        other => panic!("no such RPC {other}"),
    }
}

/// Every RPC and the services that may call it (operators may call them all).
const RPCS: [(&str, &[&str]); 13] = [
    ("IngestWebhook", &["gateway"]),
    ("NotifyLinkRegistered", &["link-service"]),
    ("ListRecords", &["gateway"]),
    ("ListTransactions", &["gateway"]),
    ("GetSyncStatus", &["gateway"]),
    ("WatchSyncStatus", &["gateway"]),
    ("ListChanges", &["gateway"]),
    ("WatchChanges", &["gateway"]),
    ("ResyncLink", &[]),
    ("PurgeLink", &["link-service"]),
    ("ListWebhookEvents", &[]),
    ("ReplayWebhookEvent", &[]),
    ("GetKeyUsage", &[]),
];

/// The access check's refusal reason, if the call was refused by it.
fn refusal(result: &Result<(), Status>) -> Option<String> {
    let status = result.as_ref().err()?;
    (status.code() == Code::PermissionDenied)
        .then(|| status.get_details_error_info())
        .flatten()
        .map(|info| info.reason)
}

both_backends!(each_rpc_admits_only_its_callers, admits_by_flow);
async fn admits_by_flow(backend: Backend) {
    let mut server = ServerConfig::for_tests();
    for (name, token) in CALLERS {
        server
            .auth_tokens
            .insert(name.to_owned(), SecretString::from(token));
    }
    let Some(h) = Harness::start_serving(backend, fast_sync(), None, server).await else {
        return;
    };
    for (caller, _) in CALLERS {
        for (rpc, admitted) in RPCS {
            let result = call(channel(&h, caller), rpc, "alice").await;
            let expected = (!admitted.contains(&caller) && caller != "operator-bob")
                .then(|| "CALLER_NOT_ADMITTED".to_owned());
            assert_eq!(
                refusal(&result),
                expected,
                "{caller} calling {rpc}: {result:?}"
            );
        }
    }
    // Reading without an owner spans every user: operators only.
    for rpc in [
        "ListRecords",
        "ListTransactions",
        "GetSyncStatus",
        "ListChanges",
    ] {
        let result = call(channel(&h, "gateway"), rpc, "").await;
        assert_eq!(refusal(&result).as_deref(), Some("OWNER_REQUIRED"), "{rpc}");
        let result = call(channel(&h, "operator-bob"), rpc, "").await;
        assert_eq!(refusal(&result), None, "operator {rpc}: {result:?}");
    }
    // The operator's calls were recorded, each with what it named.
    let calls = OperatorAuditServiceClient::new(channel(&h, "operator-bob"))
        .list_operator_calls(ListOperatorCallsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .calls;
    // 13 RPCs, 4 owner-less reads and this listing; nobody else's calls.
    assert_eq!(calls.len(), RPCS.len() + 5, "{calls:?}");
    assert!(calls.iter().all(|c| c.caller == "operator-bob"));
    let replay = calls
        .iter()
        .find(|c| c.method == "/connect.data.v1.DataService/ReplayWebhookEvent")
        .unwrap();
    assert_eq!(replay.target, "never-seen");
    h.stop().await;
}

both_backends!(
    without_authentication_operator_calls_are_recorded_as_such,
    unauthenticated
);
async fn unauthenticated(backend: Backend) {
    let Some(h) = Harness::start(backend, fast_sync()).await else {
        return;
    };
    let anyone = || connect_lazy(&ClientConfig::new(h.url())).unwrap();
    // A user's read and a webhook are not operator calls; a purge by hand and an owner-less
    // read are.
    call(anyone(), "GetSyncStatus", "alice").await.unwrap_err();
    call(anyone(), "IngestWebhook", "").await.unwrap_err();
    call(anyone(), "ListWebhookEvents", "").await.unwrap();
    call(anyone(), "ListTransactions", "").await.unwrap_err();
    let calls = OperatorAuditServiceClient::new(anyone())
        .list_operator_calls(ListOperatorCallsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .calls;
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "/connect.audit.v1.OperatorAuditService/ListOperatorCalls",
            "/connect.data.v1.DataService/ListTransactions",
            "/connect.data.v1.DataService/ListWebhookEvents",
        ]
    );
    assert!(calls.iter().all(|c| c.caller == "unauthenticated"));
    h.stop().await;
}
