//! The body of Belvo's `POST /api/token/` for a checked request, from the region's
//! configuration: scopes for link creation, update mode (`link_id`) or OFDA consent;
//! `fetch_resources`; `stale_in` and `credentials_storage`; the owner's `external_id`; and
//! `widget` with branding, callback URLs, theme and, for OFDA, the consent.
//! The OFDA consent's `identification_info` (the user's CPF, and a company's CNPJ) is per
//! user: it comes from the request (`widget.identification_info`, checked in `request`).

use regions::{AccessMode, CredentialsStorage, Region, WidgetFamily};

use crate::request::WidgetTokenOrder;

/// Belvo's token body for `order`, tying the link to `external_id`.
pub(crate) fn token_request(
    order: &WidgetTokenOrder<'_>,
    external_id: &str,
) -> belvo::WidgetTokenRequest {
    let region = order.region;
    let mut body = match (region.widget(), order.link_id) {
        (WidgetFamily::Ofda, link_id) => {
            let mut body =
                belvo::WidgetTokenRequest::ofda(consent(region, order.identification_info.clone()));
            body.link_id = link_id;
            body
        }
        (WidgetFamily::MultiRegion, Some(link_id)) => {
            belvo::WidgetTokenRequest::update_link(link_id)
        }
        (WidgetFamily::MultiRegion, None) => belvo::WidgetTokenRequest::create_links(),
    };
    body.fetch_resources = order
        .fetch_resources
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    body.stale_in = Some(region.stale_in().to_string());
    body.credentials_storage = match (order.access_mode, region.credentials_storage()) {
        // Belvo accepts only `store` for recurrent links; a region whose default is single
        // (and keeps credentials for some days) may still be asked for a recurrent widget.
        (AccessMode::Recurrent, Some(_)) => Some(CredentialsStorage::Store.to_string()),
        (_, storage) => storage.map(|c| c.to_string()),
    };
    body.external_id = Some(external_id.to_owned());
    let widget = body.widget.get_or_insert_with(belvo::Widget::default);
    widget.branding = Some(branding(region));
    widget.callback_urls = region.callback_urls().map(|urls| belvo::CallbackUrls {
        success: urls.success.to_string(),
        exit: urls.exit.to_string(),
        event: urls.event.to_string(),
    });
    widget.theme = Some(
        region
            .theme()
            .iter()
            .map(|t| belvo::ThemeEntry {
                css_key: t.css_key.clone(),
                value: t.value.clone(),
            })
            .collect(),
    );
    body
}

fn branding(region: &Region) -> belvo::Branding {
    let b = region.branding();
    belvo::Branding {
        company_icon: Some(b.company_icon.to_string()),
        company_logo: Some(b.company_logo.to_string()),
        company_name: Some(b.company_name.clone()),
        company_terms_url: Some(b.company_terms_url.to_string()),
        company_terms_version: b.company_terms_version.clone(),
        overlay_background_color: b.overlay_background_color.clone(),
        social_proof: b.social_proof,
        show_belvo_middle_logo: b.show_belvo_middle_logo,
    }
}

fn consent(region: &Region, identification_info: Vec<belvo::IdentificationInfo>) -> belvo::Consent {
    let configured = region.consent();
    belvo::Consent {
        purpose: configured.map(|c| c.purpose.clone()).unwrap_or_default(),
        terms_and_conditions_url: configured
            .map(|c| c.terms_and_conditions_url.to_string())
            .unwrap_or_default(),
        permissions: belvo::OFDA_PERMISSIONS.map(str::to_owned).to_vec(),
        identification_info,
        default_consent_duration_days: configured.and_then(|c| c.default_consent_duration_days),
    }
}

#[cfg(test)]
mod tests {
    use connect_proto::common::v1::{AccessMode as AccessModeProto, Product};
    use connect_proto::token::v1::{
        CreateWidgetTokenRequest, DocumentType, IdentificationInfo, WidgetOverrides,
    };
    use regions::RegionsConfig;
    use serde_json::{Value, json};

    use super::*;
    use crate::request;

    const TEST_ENV: [(&str, &str); 3] = [
        ("BELVO_MX_SECRET_ID", "mx-id"),
        ("BELVO_MX_SECRET_PASSWORD", "mx-password"),
        ("BELVO_MX_WEBHOOK_AUTHORIZATION", "Bearer x"),
    ];

    fn body_for(regions: &RegionsConfig, request: CreateWidgetTokenRequest) -> Value {
        let order = request::check(regions, &request).unwrap();
        serde_json::to_value(token_request(&order, "ext-123")).unwrap()
    }

    /// The shipped Mexico configuration (Brazil's keys come from mounted files that tests
    /// do not have).
    #[test]
    fn mexico_body_carries_the_region_settings() {
        let toml = regions::shipped::MEXICO_BRAZIL;
        let mexico = &toml[..toml.find("[regions.br]").unwrap()];
        let regions = RegionsConfig::from_toml_str(mexico, TEST_ENV).unwrap();
        check_mexico(&regions);
    }

    fn check_mexico(regions: &RegionsConfig) {
        let body = body_for(
            regions,
            CreateWidgetTokenRequest {
                region: "mx".into(),
                owner: "user-1".into(),
                products: vec![Product::Fiscal as i32, Product::Employment as i32],
                ..Default::default()
            },
        );
        assert_eq!(body["scopes"], "read_institutions,write_links");
        assert_eq!(
            body["fetch_resources"],
            json!([
                "EMPLOYMENT_RECORDS",
                "INVOICES",
                "TAX_COMPLIANCE_STATUS",
                "TAX_RETENTIONS",
                "TAX_RETURNS",
                "TAX_STATUS"
            ])
        );
        assert_eq!(body["stale_in"], "365d");
        assert_eq!(body["credentials_storage"], "store");
        assert_eq!(body["external_id"], "ext-123");
        assert_eq!(body["widget"]["branding"]["company_name"], "ACME");
        assert_eq!(
            body["widget"]["branding"]["company_terms_version"],
            "20260323"
        );
        assert_eq!(
            body["widget"]["callback_urls"]["success"],
            "https://app.acme.example/connect/success"
        );
        assert_eq!(
            body["widget"]["theme"],
            json!([{"css_key": "--color-primary-base", "value": "#0663F9"}])
        );
        assert!(body.get("link_id").is_none());
        assert!(body["widget"].get("consent").is_none());
        // No keys in the body this crate builds (the client adds them).
        assert!(body.get("id").is_none() && body.get("password").is_none());

        let update = body_for(
            regions,
            CreateWidgetTokenRequest {
                region: "mx".into(),
                owner: "user-1".into(),
                products: vec![Product::Banking as i32],
                link_id: Some("30cb4806-6e00-48a4-91c9-ca55968576c8".into()),
                ..Default::default()
            },
        );
        assert_eq!(update["scopes"], "read_institutions,write_links,read_links");
        assert_eq!(update["link_id"], "30cb4806-6e00-48a4-91c9-ca55968576c8");
    }

    #[test]
    fn recurrent_widgets_always_store_credentials() {
        let toml = regions::shipped::MEXICO_BRAZIL;
        let mexico = &toml[..toml.find("[regions.br]").unwrap()]
            .replace("access_mode = \"recurrent\"", "access_mode = \"single\"")
            .replace(
                "credentials_storage = \"store\"",
                "credentials_storage = \"30d\"",
            );
        let regions = RegionsConfig::from_toml_str(mexico, TEST_ENV).unwrap();
        let request = |access_mode: AccessModeProto| CreateWidgetTokenRequest {
            region: "mx".into(),
            owner: "user-1".into(),
            products: vec![Product::Banking as i32],
            widget: Some(connect_proto::token::v1::WidgetOverrides {
                access_mode: access_mode as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let single = body_for(&regions, request(AccessModeProto::Unspecified));
        assert_eq!(single["credentials_storage"], "30d");
        let recurrent = body_for(&regions, request(AccessModeProto::Recurrent));
        assert_eq!(recurrent["credentials_storage"], "store");
    }

    #[test]
    fn ofda_body_has_the_consent_and_no_credentials_storage() {
        let toml = r#"
            [regions.br]
            environment = "http://127.0.0.1:1"
            secret_id = { value = "br-id" }
            secret_password = { value = "br-password" }
            widget = "ofda"
            locale = "pt"
            country_codes = ["BR"]
            [regions.br.branding]
            company_name = "ACME"
            company_icon = "https://acme.example/icon.svg"
            company_logo = "https://acme.example/logo.svg"
            company_terms_url = "https://acme.example/terms"
            [regions.br.callback_urls]
            success = "https://acme.example/success"
            exit = "https://acme.example/exit"
            event = "https://acme.example/event"
            [regions.br.consent]
            purpose = "Soluções financeiras"
            terms_and_conditions_url = "https://acme.example/termos"
            default_consent_duration_days = 183
            [regions.br.products.banking]
            fetch_resources = ["ACCOUNTS", "TRANSACTIONS", "OWNERS", "BILLS"]
        "#;
        let regions = RegionsConfig::from_toml_str(toml, Vec::<(String, String)>::new()).unwrap();
        let body = body_for(
            &regions,
            CreateWidgetTokenRequest {
                region: "br".into(),
                owner: "user-1".into(),
                products: vec![Product::Banking as i32],
                widget: Some(WidgetOverrides {
                    identification_info: vec![
                        IdentificationInfo {
                            r#type: DocumentType::Cpf as i32,
                            number: "76109277673".into(),
                            name: " Ralph Bragg ".into(),
                        },
                        IdentificationInfo {
                            r#type: DocumentType::Cnpj as i32,
                            number: "50685362006773".into(),
                            name: "ACME Ltda".into(),
                        },
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        assert_eq!(body["scopes"], belvo::SCOPES_OFDA);
        assert_eq!(
            body["widget"]["consent"]["identification_info"],
            json!([
                {"type": "CPF", "number": "76109277673", "name": "Ralph Bragg"},
                {"type": "CNPJ", "number": "50685362006773", "name": "ACME Ltda"},
            ])
        );
        assert_eq!(
            body["fetch_resources"],
            json!(["ACCOUNTS", "TRANSACTIONS", "OWNERS", "BILLS"])
        );
        assert!(body.get("credentials_storage").is_none());
        let widget = &body["widget"];
        assert_eq!(widget["openfinance_feature"], "consent_link_creation");
        assert_eq!(widget["consent"]["purpose"], "Soluções financeiras");
        assert_eq!(
            widget["consent"]["permissions"],
            json!(["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"])
        );
        assert_eq!(widget["consent"]["default_consent_duration_days"], 183);
        assert_eq!(widget["callback_urls"]["exit"], "https://acme.example/exit");
    }
}
