//! Tokens for Mexico's products, explicit resources, overrides, several regions and OFDA:
//! what Belvo received (the emulator's token claims) and the widget configuration returned.

use std::time::{SystemTime, UNIX_EPOCH};

use connect_proto::common::v1::{AccessMode, Product};
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, DocumentType, IdentificationInfo, WidgetFamily, WidgetOverrides,
};
use database::Backend;
use serde_json::json;

use crate::support::{Harness, Links, claims, on_both_backends};

fn request(region: &str, owner: &str, products: &[Product]) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        region: region.into(),
        owner: owner.into(),
        products: products.iter().map(|p| *p as i32).collect(),
        ..Default::default()
    }
}

on_both_backends!(
    mexico_products_ask_for_their_fetch_resources,
    explicit_fetch_resources_and_overrides,
    regions_use_their_own_belvo_accounts,
    ofda_region_gets_an_ofda_token,
);

async fn mexico_products_ask_for_their_fetch_resources(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let cases: [(&[Product], serde_json::Value, &[&str]); 4] = [
        (
            &[Product::Banking],
            json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS", "INCOMES"]),
            &["retail", "business"],
        ),
        (
            &[Product::Employment],
            json!(["EMPLOYMENT_RECORDS"]),
            &["employment"],
        ),
        (
            &[Product::Fiscal],
            json!(["INVOICES", "TAX_RETURNS", "TAX_STATUS"]),
            &["fiscal"],
        ),
        (
            &[Product::Fiscal, Product::Employment],
            json!([
                "EMPLOYMENT_RECORDS",
                "INVOICES",
                "TAX_RETURNS",
                "TAX_STATUS"
            ]),
            &["fiscal", "employment"],
        ),
    ];
    for (products, resources, types) in cases {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let response = h.create(request("mx", "user-1", products)).await.unwrap();
        let sent = claims(&response.access_token);
        assert_eq!(sent["fetch_resources"], resources, "{products:?}");
        assert_eq!(sent["stale_in"], "300d");
        assert_eq!(sent["credentials_storage"], "store");
        assert_eq!(sent["scopes"], json!(["read_institutions", "write_links"]));
        assert_eq!(sent["link_id"], serde_json::Value::Null);

        let widget = response.widget.unwrap();
        assert_eq!(widget.region, "mx");
        assert_eq!(widget.family, WidgetFamily::MultiRegion as i32);
        assert_eq!(
            widget.script_url,
            format!("{}/belvo-widget-1-stable.js", h.emulator.url())
        );
        assert_eq!(widget.hosted_url, format!("{}/widget/", h.emulator.url()));
        assert_eq!(widget.locale, "es");
        assert_eq!(widget.country_codes, ["MX"]);
        let mut got_types = widget.institution_types.clone();
        got_types.sort();
        let mut want_types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        want_types.sort();
        assert_eq!(got_types, want_types);
        assert_eq!(widget.access_mode, AccessMode::Recurrent as i32);
        assert_eq!(json!(widget.fetch_resources), resources);
        assert!(widget.link_id.is_none());
        assert_eq!(widget.external_id.len(), 43);
        assert!(!widget.external_id.contains("user-1"));

        let session = h.widget_session(&response.access_token).await;
        assert_eq!(session["mode"], "create");
        assert_eq!(session["external_id"], json!(widget.external_id));
        assert_eq!(session["branding"]["company_name"], "ACME mx");
        assert_eq!(
            session["branding"]["company_terms_url"],
            "https://acme.example/terms"
        );

        let expires = response.expires_at.unwrap();
        let lifetime = expires.seconds - before.as_secs() as i64;
        assert!((1195..=1205).contains(&lifetime), "lifetime {lifetime}");
    }
    assert_eq!(h.token_requests(), 4);
    h.stop().await;
}

async fn explicit_fetch_resources_and_overrides(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let response = h
        .create(CreateWidgetTokenRequest {
            region: "mx".into(),
            owner: "user-2".into(),
            // Out of order and repeated: Belvo gets them once, in Belvo's order.
            fetch_resources: vec!["TAX_STATUS".into(), "ACCOUNTS".into(), "TAX_STATUS".into()],
            widget: Some(WidgetOverrides {
                locale: Some("en".into()),
                country_codes: vec!["MX".into()],
                institution_types: vec!["fiscal".into()],
                institutions: vec!["erebor_mx_retail".into()],
                access_mode: AccessMode::Single as i32,
                identification_info: Vec::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        claims(&response.access_token)["fetch_resources"],
        json!(["ACCOUNTS", "TAX_STATUS"])
    );
    let widget = response.widget.unwrap();
    assert_eq!(widget.locale, "en");
    assert_eq!(widget.institution_types, ["fiscal"]);
    assert_eq!(widget.institutions, ["erebor_mx_retail"]);
    assert_eq!(widget.access_mode, AccessMode::Single as i32);
    assert_eq!(widget.fetch_resources, ["ACCOUNTS", "TAX_STATUS"]);
    h.stop().await;
}

async fn regions_use_their_own_belvo_accounts(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let mx = h
        .create(request("mx", "user-3", &[Product::Banking]))
        .await
        .unwrap();
    let co = h
        .create(request("co", "user-3", &[Product::Banking]))
        .await
        .unwrap();
    let (mx, co) = (mx.widget.unwrap(), co.widget.unwrap());
    assert_eq!(co.region, "co");
    assert_eq!(co.country_codes, ["CO"]);
    assert_ne!(mx.external_id, co.external_id);
    assert_eq!(h.token_requests(), 2);
    // `zz` points at the same Belvo with keys it does not know: the keys are per region.
    let err = h
        .create(request("zz", "user-3", &[Product::Banking]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    h.stop().await;
}

async fn ofda_region_gets_an_ofda_token(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let response = h
        .create(CreateWidgetTokenRequest {
            widget: Some(WidgetOverrides {
                identification_info: vec![IdentificationInfo {
                    r#type: DocumentType::Cpf as i32,
                    number: "76109277673".into(),
                    name: "Ralph Bragg".into(),
                }],
                ..Default::default()
            }),
            ..request("br", "user-4", &[Product::Banking])
        })
        .await
        .unwrap();
    let sent = claims(&response.access_token);
    assert_eq!(
        sent["scopes"],
        json!([
            "read_institutions",
            "write_links",
            "read_consents",
            "write_consents",
            "write_consent_callback",
            "delete_consents"
        ])
    );
    assert_eq!(
        sent["fetch_resources"],
        json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS"])
    );
    assert_eq!(sent["credentials_storage"], serde_json::Value::Null);
    let session = h.widget_session(&response.access_token).await;
    assert_eq!(session["branding"]["company_name"], "ACME BR");
    assert_eq!(
        session["callback_urls"],
        json!({
            "success": "https://acme.example/success",
            "exit": "https://acme.example/exit",
            "event": "https://acme.example/event"
        })
    );
    let widget = response.widget.unwrap();
    assert_eq!(session["external_id"], json!(widget.external_id));
    assert_eq!(widget.family, WidgetFamily::Ofda as i32);
    assert_eq!(widget.script_url, "");
    assert_eq!(widget.locale, "pt");
    assert_eq!(widget.country_codes, ["BR"]);
    assert_eq!(widget.institution_types, ["retail", "business"]);

    // A business: the representative's CPF and the company's CNPJ.
    let business = h
        .create(CreateWidgetTokenRequest {
            widget: Some(WidgetOverrides {
                identification_info: vec![
                    IdentificationInfo {
                        r#type: DocumentType::Cpf as i32,
                        number: "76109277673".into(),
                        name: "Ralph Bragg".into(),
                    },
                    IdentificationInfo {
                        r#type: DocumentType::Cnpj as i32,
                        number: "50685362006773".into(),
                        name: "ACME Ltda".into(),
                    },
                ],
                ..Default::default()
            }),
            ..request("br", "user-4", &[Product::Banking])
        })
        .await
        .unwrap();
    assert_eq!(business.widget.unwrap().family, WidgetFamily::Ofda as i32);
    h.stop().await;
}
