//! Who may call what (issue 14), with internal authentication on: each RPC admits the services
//! of its flow and operators, a user's call must name its owner, and every operator call is
//! recorded before it acts and listed by `ListOperatorCalls`.

use connect_proto::audit::v1::ListOperatorCallsRequest;
use connect_proto::audit::v1::operator_audit_service_client::OperatorAuditServiceClient;
use connect_proto::link::v1 as pb;
use connect_proto::link::v1::link_service_client::LinkServiceClient;
use connect_proto::sealing::v1::GetKeyUsageRequest;
use connect_proto::sealing::v1::key_usage_service_client::KeyUsageServiceClient;
use database::Backend;
use grpc_runtime::client::{ClientChannel, ClientConfig, connect_lazy};
use secrecy::SecretString;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;
use uuid::Uuid;

use crate::harness::{Bench, on_both_backends};

on_both_backends!(
    each_rpc_admits_only_its_callers,
    operator_calls_are_recorded_and_listed
);

/// The callers, as configured (`AUTH_TOKENS__<NAME>` arrives lower-cased, with `_`), their
/// canonical names, and their tokens.
const CALLERS: [(&str, &str, &str); 4] = [
    ("gateway", "gateway", "token-of-the-gateway-0123"),
    (
        "token_service",
        "token-service",
        "token-of-token-service-01",
    ),
    ("data_service", "data-service", "token-of-data-service-012"),
    (
        "operator_alice",
        "operator-alice",
        "token-of-operator-alice-0",
    ),
];

async fn start(backend: Backend) -> Option<Bench> {
    Bench::start_with(backend, |config| {
        for (name, _, token) in CALLERS {
            config
                .server
                .auth_tokens
                .insert(name.to_owned(), SecretString::from(token));
        }
    })
    .await
}

/// A channel to link-service that presents `caller`'s token.
fn channel(bench: &Bench, caller: &str) -> ClientChannel {
    let (_, _, token) = CALLERS.iter().find(|c| c.1 == caller).unwrap();
    let mut config = ClientConfig::new(bench.url());
    config.bearer_token = Some(SecretString::from(*token));
    connect_lazy(&config).unwrap()
}

/// The platform reason of a refusal (`CALLER_NOT_ADMITTED`, `OWNER_REQUIRED`), if any.
fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// Calls `rpc` as whoever `channel` presents, for `owner`, on a link nobody registered:
/// the result when admitted is NOT_FOUND or similar, never a refusal by the access check.
async fn call(channel: ClientChannel, rpc: &str, owner: &str) -> Result<(), Status> {
    let mut client = LinkServiceClient::new(channel.clone());
    let link_id = Uuid::new_v4().to_string();
    let owner = owner.to_owned();
    match rpc {
        "RegisterLink" => client
            .register_link(pb::RegisterLinkRequest {
                owner,
                link_id,
                region: "mx".into(),
            })
            .await
            .map(drop),
        "GetLink" => client
            .get_link(pb::GetLinkRequest { link_id, owner })
            .await
            .map(drop),
        "WatchLink" => client
            .watch_link(pb::WatchLinkRequest { link_id, owner })
            .await
            .map(drop),
        "ListLinks" => client
            .list_links(pb::ListLinksRequest {
                owner,
                ..Default::default()
            })
            .await
            .map(drop),
        "DeleteLink" => client
            .delete_link(pb::DeleteLinkRequest { link_id, owner })
            .await
            .map(drop),
        "RefreshLink" => client
            .refresh_link(pb::RefreshLinkRequest {
                link_id,
                owner,
                ..Default::default()
            })
            .await
            .map(drop),
        "ApplyLinkEvent" => client
            .apply_link_event(pb::ApplyLinkEventRequest {
                link_id,
                code: pb::LinkEventCode::InvalidCredentials as i32,
                webhook_id: Uuid::new_v4().to_string(),
                received_at: Some(prost_types::Timestamp::default()),
                ..Default::default()
            })
            .await
            .map(drop),
        "EraseOwner" => client
            .erase_owner(pb::EraseOwnerRequest { owner })
            .await
            .map(drop),
        "GetErasure" => client
            .get_erasure(pb::GetErasureRequest { owner })
            .await
            .map(drop),
        "AdoptLink" => client
            .adopt_link(pb::AdoptLinkRequest {
                region: "mx".into(),
                link_id,
                external_id: "someone".into(),
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
const RPCS: [(&str, &[&str]); 11] = [
    ("RegisterLink", &["gateway"]),
    ("GetLink", &["gateway", "token-service"]),
    ("WatchLink", &["gateway"]),
    ("ListLinks", &["gateway"]),
    ("DeleteLink", &["gateway"]),
    ("RefreshLink", &["gateway"]),
    ("ApplyLinkEvent", &["data-service"]),
    ("AdoptLink", &["data-service"]),
    ("EraseOwner", &["gateway"]),
    ("GetErasure", &["gateway"]),
    ("GetKeyUsage", &[]),
];

async fn each_rpc_admits_only_its_callers(backend: Backend) {
    let Some(bench) = start(backend).await else {
        return;
    };
    for (_, caller, _) in CALLERS {
        for (rpc, admitted) in RPCS {
            let result = call(channel(&bench, caller), rpc, "alice").await;
            let refused = result
                .as_ref()
                .err()
                .filter(|status| status.code() == Code::PermissionDenied)
                .and_then(reason);
            let expected = (!admitted.contains(&caller) && !caller.starts_with("operator"))
                .then(|| "CALLER_NOT_ADMITTED".to_owned());
            assert_eq!(refused, expected, "{caller} calling {rpc}: {result:?}");
        }
    }
    // A user's call must name its owner; only an operator reads across owners.
    for rpc in ["GetLink", "WatchLink", "DeleteLink", "RefreshLink"] {
        let err = call(channel(&bench, "gateway"), rpc, "").await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{rpc}");
        assert_eq!(reason(&err).as_deref(), Some("OWNER_REQUIRED"), "{rpc}");
        let err = call(channel(&bench, "operator-alice"), rpc, "")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "operator {rpc}: {err:?}");
    }
    // No token: not even the access check is reached.
    let err = bench
        .client()
        .get_link(pb::GetLinkRequest {
            link_id: Uuid::new_v4().to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    bench.stop().await;
}

async fn operator_calls_are_recorded_and_listed(backend: Backend) {
    let Some(bench) = start(backend).await else {
        return;
    };
    let mut operator = LinkServiceClient::new(channel(&bench, "operator-alice"));
    let (read, deleted) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let mut request = tonic::Request::new(pb::GetLinkRequest {
        link_id: read.clone(),
        owner: String::new(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "operator-read-1".parse().unwrap());
    assert_eq!(
        operator.get_link(request).await.unwrap_err().code(),
        Code::NotFound
    );
    // Recorded even though it then failed.
    operator
        .delete_link(pb::DeleteLinkRequest {
            link_id: deleted.clone(),
            owner: String::new(),
        })
        .await
        .unwrap_err();
    // A user's call by the gateway is not an operator call.
    call(channel(&bench, "gateway"), "GetLink", "alice")
        .await
        .unwrap_err();

    let mut audit = OperatorAuditServiceClient::new(channel(&bench, "operator-alice"));
    let list = |page_size, page_token: &str, caller: &str| ListOperatorCallsRequest {
        page_size,
        page_token: page_token.to_owned(),
        caller: caller.to_owned(),
    };
    // Newest first, the listing itself included (it is an operator call too).
    let first = audit.list_operator_calls(list(2, "", "")).await.unwrap();
    let first = first.into_inner();
    let methods: Vec<&str> = first.calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "/connect.audit.v1.OperatorAuditService/ListOperatorCalls",
            "/connect.link.v1.LinkService/DeleteLink"
        ]
    );
    assert_eq!(first.calls[1].target, deleted);
    assert!(!first.next_page_token.is_empty());
    let second = audit
        .list_operator_calls(list(2, &first.next_page_token, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.calls.len(), 1, "{second:?}");
    assert!(second.next_page_token.is_empty());
    let get = &second.calls[0];
    assert_eq!(get.method, "/connect.link.v1.LinkService/GetLink");
    assert_eq!(
        (
            get.caller.as_str(),
            get.target.as_str(),
            get.request_id.as_str()
        ),
        ("operator-alice", read.as_str(), "operator-read-1")
    );
    assert!(get.called_at.is_some_and(|at| at.seconds > 0));
    // Filtered by caller: the gateway made no operator call.
    let none = audit
        .list_operator_calls(list(0, "", "gateway"))
        .await
        .unwrap()
        .into_inner();
    assert!(none.calls.is_empty(), "{none:?}");
    // Bad paging, and anyone but an operator.
    for bad in [list(501, "", ""), list(0, "not-a-token", "")] {
        let err = audit.list_operator_calls(bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    let err = OperatorAuditServiceClient::new(channel(&bench, "gateway"))
        .list_operator_calls(list(0, "", ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("CALLER_NOT_ADMITTED"));
    bench.stop().await;
}
