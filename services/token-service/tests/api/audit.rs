//! The audit trail: one row per issued token with who, where, which link and resources, and
//! never the token; nothing audited when no token was issued.

use connect_proto::audit::v1::ListOperatorCallsRequest;
use connect_proto::audit::v1::operator_audit_service_client::OperatorAuditServiceClient;
use connect_proto::common::v1::Product;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, EraseOwnerRequest, ResolveExternalIdRequest,
};
use database::Backend;
use grpc_runtime::client::{ClientChannel, ClientConfig, connect_lazy};
use secrecy::SecretString;
use sqlx::Row as _;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::support::{Harness, Links, on_both_backends};

on_both_backends!(
    every_issued_token_is_audited_without_the_token,
    internal_callers_need_their_bearer_token_and_are_audited,
    each_rpc_admits_only_its_callers_and_operators_are_recorded,
);

async fn every_issued_token_is_audited_without_the_token(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let mut tokens = Vec::new();
    for (region, products) in [
        ("mx", vec![Product::Banking as i32, Product::Fiscal as i32]),
        ("co", vec![Product::Banking as i32]),
    ] {
        let response = h
            .create(CreateWidgetTokenRequest {
                region: region.into(),
                owner: "carol".into(),
                products,
                ..Default::default()
            })
            .await
            .unwrap();
        tokens.push((response.access_token, response.widget.unwrap().external_id));
    }
    // A refused request leaves no row.
    h.create(CreateWidgetTokenRequest {
        region: "mx".into(),
        owner: String::new(),
        products: vec![Product::Banking as i32],
        ..Default::default()
    })
    .await
    .unwrap_err();

    let rows = sqlx::query(
        "SELECT id, issued_at_ms, owner, region, external_id, link_id, products, \
         fetch_resources, caller, request_id FROM token_audit ORDER BY issued_at_ms, region",
    )
    .fetch_all(h.db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let mut regions = Vec::new();
    for row in &rows {
        let owner: String = row.get("owner");
        let region: String = row.get("region");
        let products: String = row.get("products");
        let resources: String = row.get("fetch_resources");
        let external_id: String = row.get("external_id");
        let link_id: Option<String> = row.get("link_id");
        let request_id: Option<String> = row.get("request_id");
        let issued_at: i64 = row.get("issued_at_ms");
        assert_eq!(owner, "carol");
        assert!(link_id.is_none());
        assert!(issued_at > 1_700_000_000_000);
        assert!(request_id.is_some_and(|id| !id.is_empty()));
        let (token, expected_external_id) = if region == "mx" {
            assert_eq!(products, r#"["banking","fiscal"]"#);
            assert_eq!(
                resources,
                r#"["ACCOUNTS","TRANSACTIONS","OWNERS","INCOMES","INVOICES","TAX_RETURNS","TAX_STATUS"]"#
            );
            &tokens[0]
        } else {
            assert_eq!(products, r#"["banking"]"#);
            assert_eq!(
                resources,
                r#"["ACCOUNTS","TRANSACTIONS","OWNERS","INCOMES"]"#
            );
            &tokens[1]
        };
        assert_eq!(&external_id, expected_external_id);
        // No column holds the token or any part of it.
        let signature = token.rsplit('.').next().unwrap();
        for column in [
            "id",
            "owner",
            "region",
            "external_id",
            "products",
            "fetch_resources",
        ] {
            let value: String = row.get(column);
            assert!(!value.contains(token.as_str()) && !value.contains(signature));
        }
        regions.push(region);
    }
    regions.sort();
    assert_eq!(regions, ["co", "mx"]);
    h.stop().await;
}

async fn internal_callers_need_their_bearer_token_and_are_audited(backend: Backend) {
    const TOKEN: &str = "gateway-bearer-token-0123456789";
    let Some(h) = Harness::start_with(backend, Links::None, |config| {
        config
            .server
            .auth_tokens
            .insert("gateway".into(), SecretString::from(TOKEN));
    })
    .await
    else {
        return;
    };
    let request = || CreateWidgetTokenRequest {
        region: "mx".into(),
        owner: "grace".into(),
        products: vec![Product::Banking as i32],
        ..Default::default()
    };
    let err = h.create(request()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let channel = crate::support::channel(h.addr).await;
    let bearer: MetadataValue<_> = format!("Bearer {TOKEN}").parse().unwrap();
    let mut client =
        TokenServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        });
    let response = client.create_widget_token(request()).await.unwrap();
    assert!(!response.into_inner().access_token.is_empty());

    let caller: Option<String> = sqlx::query("SELECT caller FROM token_audit")
        .fetch_one(h.db.pool())
        .await
        .unwrap()
        .get("caller");
    assert_eq!(caller.as_deref(), Some("gateway"));
    h.stop().await;
}

/// The callers' names as configured (`AUTH_TOKENS__LINK_SERVICE` arrives as `link_service`)
/// and their tokens.
const CALLERS: [(&str, &str); 3] = [
    ("gateway", "token-of-the-gateway-0123"),
    ("link_service", "token-of-link-service-012"),
    ("operator", "token-of-the-operator-012"),
];

/// The access check's refusal reason, if it refused the call.
fn refusal<T>(result: &Result<T, Status>) -> Option<String> {
    let status = result.as_ref().err()?;
    (status.code() == Code::PermissionDenied)
        .then(|| status.get_details_error_info())
        .flatten()
        .map(|info| info.reason)
}

async fn each_rpc_admits_only_its_callers_and_operators_are_recorded(backend: Backend) {
    let Some(h) = Harness::start_with(backend, Links::None, |config| {
        for (name, token) in CALLERS {
            config
                .server
                .auth_tokens
                .insert(name.into(), SecretString::from(token));
        }
    })
    .await
    else {
        return;
    };
    let channel = |caller: &str| -> ClientChannel {
        let (_, token) = CALLERS.iter().find(|c| c.0 == caller).unwrap();
        let mut config = ClientConfig::new(format!("http://{}", h.addr));
        config.bearer_token = Some(SecretString::from(*token));
        connect_lazy(&config).unwrap()
    };
    let client = |caller: &str| TokenServiceClient::new(channel(caller));
    let mint = |owner: &str| CreateWidgetTokenRequest {
        region: "mx".into(),
        owner: owner.into(),
        products: vec![Product::Banking as i32],
        ..Default::default()
    };
    let resolve = || ResolveExternalIdRequest {
        external_id: "unknown-external-id".into(),
        ..Default::default()
    };
    // Widget tokens are minted for a named user, through the gateway.
    assert!(
        client("gateway")
            .create_widget_token(mint("grace"))
            .await
            .is_ok()
    );
    let refused = client("gateway").create_widget_token(mint("")).await;
    assert_eq!(refusal(&refused).as_deref(), Some("OWNER_REQUIRED"));
    let refused = client("link_service")
        .create_widget_token(mint("grace"))
        .await;
    assert_eq!(refusal(&refused).as_deref(), Some("CALLER_NOT_ADMITTED"));
    // External ids are resolved for link-service only.
    let admitted = client("link_service").resolve_external_id(resolve()).await;
    assert_eq!(admitted.unwrap_err().code(), Code::NotFound);
    let refused = client("gateway").resolve_external_id(resolve()).await;
    assert_eq!(refusal(&refused).as_deref(), Some("CALLER_NOT_ADMITTED"));
    // An operator may do both, and is recorded.
    assert!(
        client("operator")
            .create_widget_token(mint("grace"))
            .await
            .is_ok()
    );
    let admitted = client("operator").resolve_external_id(resolve()).await;
    assert_eq!(admitted.unwrap_err().code(), Code::NotFound);
    let calls = OperatorAuditServiceClient::new(channel("operator"))
        .list_operator_calls(ListOperatorCallsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .calls;
    let recorded: Vec<(&str, &str, &str)> = calls
        .iter()
        .map(|c| (c.caller.as_str(), c.method.as_str(), c.target.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            (
                "operator",
                "/connect.audit.v1.OperatorAuditService/ListOperatorCalls",
                ""
            ),
            (
                "operator",
                "/connect.token.v1.TokenService/ResolveExternalId",
                "unknown-external-id"
            ),
            (
                "operator",
                "/connect.token.v1.TokenService/CreateWidgetToken",
                "grace"
            ),
        ]
    );
    // Erasure: only link-service may have token-service forget an owner; then none of
    // grace's external ids resolves and her audit rows name nobody.
    let erase = || EraseOwnerRequest {
        owner: "grace".into(),
    };
    let refused = client("gateway").erase_owner(erase()).await;
    assert_eq!(refusal(&refused).as_deref(), Some("CALLER_NOT_ADMITTED"));
    let minted: Vec<String> = sqlx::query_scalar("SELECT external_id FROM external_ids")
        .fetch_all(h.db.pool())
        .await
        .unwrap();
    assert_eq!(minted.len(), 1, "grace's");
    let erased = client("link_service").erase_owner(erase()).await.unwrap();
    assert_eq!(
        erased.into_inner().rows_erased,
        3,
        "1 external id, 2 audit rows"
    );
    let resolved = client("link_service")
        .resolve_external_id(ResolveExternalIdRequest {
            external_id: minted[0].clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(resolved.unwrap_err().code(), Code::NotFound);
    let owners: Vec<(String, String)> =
        sqlx::query_as("SELECT owner, external_id FROM token_audit")
            .fetch_all(h.db.pool())
            .await
            .unwrap();
    assert_eq!(owners.len(), 2);
    assert!(
        owners.iter().all(|(o, e)| o == "erased" && e == "erased"),
        "{owners:?}"
    );
    let again = client("link_service").erase_owner(erase()).await.unwrap();
    assert_eq!(again.into_inner().rows_erased, 0, "idempotent");
    let refused = OperatorAuditServiceClient::new(channel("gateway"))
        .list_operator_calls(ListOperatorCallsRequest::default())
        .await;
    assert_eq!(refusal(&refused).as_deref(), Some("CALLER_NOT_ADMITTED"));
    h.stop().await;
}
