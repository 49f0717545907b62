//! The audit trail: one row per issued token with who, where, which link and resources, and
//! never the token; nothing audited when no token was issued.

use connect_proto::common::v1::Product;
use connect_proto::token::v1::CreateWidgetTokenRequest;
use connect_proto::token::v1::token_service_client::TokenServiceClient;
use database::Backend;
use secrecy::SecretString;
use sqlx::Row as _;
use tonic::Code;
use tonic::metadata::MetadataValue;

use crate::support::{Harness, Links, on_both_backends};

on_both_backends!(
    every_issued_token_is_audited_without_the_token,
    internal_callers_need_their_bearer_token_and_are_audited,
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
