//! Every endpoint: the request Belvo documents goes out (method, trailing-slash path, Basic
//! auth, body, headers) and Belvo's documented answer comes back typed.

use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::{
    basic_auth, body_json, body_partial_json, header, header_exists, method, path, query_param,
};
use wiremock::{Mock, ResponseTemplate};

use belvo::{
    Consent, Filters, IdentificationInfo, LinkOptions, MfaResume, OFDA_PERMISSIONS, RegisterLink,
    RetrieveRequest, UpdateCredentials, WidgetTokenRequest,
};
use secrecy::ExposeSecret;

use crate::support::{
    SECRET_ID, SECRET_PASSWORD, answer_once, expect_call, link_json, spec_detail_shapes, stub,
    transaction_json,
};

const LINK: &str = "30cb4806-6e00-48a4-91c9-ca55968576c8";

fn link_id() -> Uuid {
    LINK.parse().unwrap()
}

#[tokio::test]
async fn login_probe_sends_basic_auth_and_a_user_agent() {
    let (server, client) = stub().await;
    Mock::given(method("GET"))
        .and(path("/api/"))
        .and(basic_auth(SECRET_ID, SECRET_PASSWORD))
        .and(header_exists("user-agent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"links": "/api/links/"})))
        .expect(1)
        .mount(&server)
        .await;
    client.check_credentials().await.unwrap();
}

#[tokio::test]
async fn widget_tokens_for_every_documented_variant() {
    let (server, client) = stub().await;
    let answer =
        json!({"access": "eyJhbGciOiJIUzUxMiJ9.access", "refresh": "eyJhbGciOiJIUzUxMiJ9.refresh"});
    // Multi-region (Mexico) with fetch_resources, storage and branding.
    Mock::given(method("POST"))
        .and(path("/api/token/"))
        .and(basic_auth(SECRET_ID, SECRET_PASSWORD))
        .and(body_json(json!({
            "id": SECRET_ID, "password": SECRET_PASSWORD,
            "scopes": "read_institutions,write_links",
            "fetch_resources": ["ACCOUNTS", "TRANSACTIONS", "OWNERS"],
            "stale_in": "300d", "credentials_storage": "store",
            "widget": {"callback_urls": {"success": "app://success", "exit": "app://exit", "event": "app://error"},
                       "branding": {"company_name": "ACME", "company_icon": "https://acme.test/icon.svg"},
                       "theme": [{"css_key": "--color-primary-base", "value": "#0050ff"}]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = WidgetTokenRequest::create_links();
    request.fetch_resources = vec!["ACCOUNTS".into(), "TRANSACTIONS".into(), "OWNERS".into()];
    request.stale_in = Some("300d".into());
    request.credentials_storage = Some("store".into());
    request.widget = Some(belvo::Widget {
        callback_urls: Some(belvo::CallbackUrls {
            success: "app://success".into(),
            exit: "app://exit".into(),
            event: "app://error".into(),
        }),
        branding: Some(belvo::Branding {
            company_name: Some("ACME".into()),
            company_icon: Some("https://acme.test/icon.svg".into()),
            ..Default::default()
        }),
        theme: Some(vec![belvo::ThemeEntry {
            css_key: "--color-primary-base".into(),
            value: "#0050ff".into(),
        }]),
        ..Default::default()
    });
    let token = client.create_widget_token(&request).await.unwrap();
    assert_eq!(token.access.expose_secret(), "eyJhbGciOiJIUzUxMiJ9.access");
    assert!(
        !format!("{token:?}").contains("eyJ"),
        "tokens must not print"
    );

    // Update mode.
    Mock::given(method("POST"))
        .and(path("/api/token/"))
        .and(body_partial_json(
            json!({"link_id": LINK, "scopes": "read_institutions,write_links,read_links"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    client
        .create_widget_token(&WidgetTokenRequest::update_link(link_id()))
        .await
        .unwrap();

    // Brazil OFDA consent.
    Mock::given(method("POST"))
        .and(path("/api/token/"))
        .and(body_partial_json(json!({
            "scopes": "read_institutions,write_links,read_consents,write_consents,write_consent_callback,delete_consents",
            "widget": {"openfinance_feature": "consent_link_creation",
                       "consent": {"permissions": ["REGISTER", "ACCOUNTS", "CREDIT_CARDS", "CREDIT_OPERATIONS"],
                                   "identification_info": [{"type": "CPF", "number": "76109277673", "name": "Ralph Bragg"}]}}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let consent = Consent {
        purpose: "Soluções financeiras personalizadas".into(),
        terms_and_conditions_url: "https://acme.test/terms".into(),
        permissions: OFDA_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
        identification_info: vec![IdentificationInfo {
            kind: "CPF".into(),
            number: "76109277673".into(),
            name: "Ralph Bragg".into(),
        }],
        default_consent_duration_days: Some(366),
    };
    client
        .create_widget_token(&WidgetTokenRequest::ofda(consent))
        .await
        .unwrap();
}

#[tokio::test]
async fn institutions_list_with_filters_and_detail() {
    let (server, client) = stub().await;
    let erebor = json!({"id": 1003, "name": "erebor_mx_retail", "type": "bank", "display_name": "Erebor Mexico",
        "website": "https://www.erebor.com/", "primary_color": "#056dae", "country_codes": ["MX"],
        "integration_type": "credentials", "status": "healthy", "resources": ["ACCOUNTS", "TRANSACTIONS"],
        "form_fields": [{"name": "username", "type": "text", "label": "Client number", "validation": "^.{1,}$"}],
        "features": [{"name": "token_required", "description": "MFA"}]});
    Mock::given(method("GET"))
        .and(path("/api/institutions/"))
        .and(query_param("country_code__in", "MX,CO"))
        .and(query_param("resources__allin", "ACCOUNTS,TRANSACTIONS"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 1, "next": null, "previous": null, "results": [erebor]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/institutions/1003/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&erebor))
        .mount(&server)
        .await;
    let filters = Filters::new()
        .is_in("country_code", ["MX", "CO"])
        .all_in("resources", ["ACCOUNTS", "TRANSACTIONS"]);
    let all: Vec<_> = client
        .institutions()
        .list(&filters)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].r#type, Some(belvo::models::InstitutionType::Bank));
    let one = client.institutions().get(1003).await.unwrap();
    assert_eq!(
        one.form_fields.unwrap()[0].label.as_deref(),
        Some("Client number")
    );
}

#[tokio::test]
async fn links_register_get_list_patch_put_delete_refresh() {
    let (server, client) = stub().await;
    let link = link_json(LINK);
    Mock::given(method("POST"))
        .and(path("/api/links/"))
        .and(body_json(json!({"institution": "erebor_mx_retail", "username": "user_valid", "password": "pass_valid",
            "external_id": "user-7f3a", "access_mode": "recurrent", "fetch_resources": ["ACCOUNTS", "TRANSACTIONS"],
            "credentials_storage": "store", "stale_in": "365d"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(&link))
        .expect(1)
        .mount(&server)
        .await;
    let created = client
        .links()
        .register(&RegisterLink {
            institution: "erebor_mx_retail".into(),
            username: "user_valid".into(),
            password: Some("pass_valid".into()),
            external_id: Some("user-7f3a".into()),
            access_mode: Some("recurrent".into()),
            fetch_resources: Some(vec!["ACCOUNTS".into(), "TRANSACTIONS".into()]),
            credentials_storage: Some("store".into()),
            stale_in: Some("365d".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, Some(link_id()));
    assert_eq!(created.status, Some(belvo::models::LinkStatus::Valid));
    assert_eq!(
        created.refresh_rate,
        Some(belvo::models::RefreshRate::Days7)
    );

    Mock::given(method("GET"))
        .and(path(format!("/api/links/{LINK}/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&link))
        .mount(&server)
        .await;
    assert_eq!(
        client
            .links()
            .get(link_id())
            .await
            .unwrap()
            .external_id
            .as_deref(),
        Some("56ab5706-6e00-48a4-91c9-ca55968678d9")
    );

    Mock::given(method("GET"))
        .and(path("/api/links/"))
        .and(query_param("external_id", "user-7f3a"))
        .and(query_param("status__in", "invalid,token_required"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"count": 1, "next": null, "previous": null, "results": [link]}),
            ),
        )
        .mount(&server)
        .await;
    let listed: Vec<_> = client
        .links()
        .list(
            &Filters::new()
                .eq("external_id", "user-7f3a")
                .is_in("status", ["invalid", "token_required"]),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    Mock::given(method("PATCH"))
        .and(path(format!("/api/links/{LINK}/")))
        .and(body_json(json!({"access_mode": "single"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(&link))
        .expect(1)
        .mount(&server)
        .await;
    let options = LinkOptions {
        access_mode: Some("single".into()),
        ..Default::default()
    };
    client
        .links()
        .update_options(link_id(), &options)
        .await
        .unwrap();

    Mock::given(method("PUT"))
        .and(path(format!("/api/links/{LINK}/")))
        .and(body_json(json!({"password": "new-pass"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(&link))
        .expect(1)
        .mount(&server)
        .await;
    let creds = UpdateCredentials {
        password: Some("new-pass".into()),
        ..Default::default()
    };
    client
        .links()
        .update_credentials(link_id(), &creds)
        .await
        .unwrap();

    Mock::given(method("POST"))
        .and(path(format!("/api/links/{LINK}/refresh/")))
        .and(body_json(json!({"fetch_resources": ["TRANSACTIONS"]})))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"request_id": "b5d0106ac9cc43d5b36199fe831f6bbe"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let accepted = client
        .links()
        .refresh(link_id(), Some(&["TRANSACTIONS".to_owned()]))
        .await
        .unwrap();
    assert_eq!(accepted.request_id, "b5d0106ac9cc43d5b36199fe831f6bbe");

    Mock::given(method("DELETE"))
        .and(path(format!("/api/links/{LINK}/")))
        .and(header("X-Belvo-Request-Mode", "async"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"request_id": "c5d0106ac9cc43d5b36199fe831f6bbe"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client
            .links()
            .delete_async(link_id())
            .await
            .unwrap()
            .request_id,
        "c5d0106ac9cc43d5b36199fe831f6bbe"
    );

    expect_call(
        &server,
        "DELETE",
        format!("/api/links/{LINK}/"),
        ResponseTemplate::new(204),
        1,
    )
    .await;
    client.links().delete(link_id()).await.unwrap();
}

#[tokio::test]
async fn refresh_within_the_cooldown_is_a_409_with_the_wait() {
    let (server, client) = stub().await;
    expect_call(&server, "POST", format!("/api/links/{LINK}/refresh/"), ResponseTemplate::new(409).set_body_json(json!([{"code": "link_refreshed",
            "message": "The link has already been refreshed. Please wait 8 minutes before trying again.",
            "request_id": "9f7b283c6efa449c9c028a16b5c249fa"}])), 1).await;
    let err = client.links().refresh(link_id(), None).await.unwrap_err();
    assert_eq!(
        err.refresh_cooldown(),
        Some(std::time::Duration::from_secs(480))
    );
    assert_eq!(err.request_id(), Some("9f7b283c6efa449c9c028a16b5c249fa"));
}

#[tokio::test]
async fn mfa_challenge_then_resume_on_the_same_collection_path() {
    let (server, client) = stub().await;
    let challenge = |value: &str| {
        json!([{"code": "token_required", "message": "A MFA token is required by the institution to login",
            "request_id": "8c7b283c6efa449c9c028a16b5c249fa", "session": "2675b703b9d4451f8d4861a3eee54449",
            "expiry": 9600, "link": LINK,
            "token_generation_data": {"instructions": "Use this code to generate the token", "type": "numeric",
                                      "value": value, "expects_user_input": true}}])
    };
    expect_call(
        &server,
        "POST",
        "/api/links/",
        ResponseTemplate::new(428).set_body_json(challenge("12345")),
        1,
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/api/links/"))
        .and(body_json(
            json!({"session": "2675b703b9d4451f8d4861a3eee54449", "link": LINK, "token": "999999"}),
        ))
        .respond_with(ResponseTemplate::new(428).set_body_json(challenge("67890")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/links/"))
        .and(body_json(
            json!({"session": "2675b703b9d4451f8d4861a3eee54449", "link": LINK, "token": "111111"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(link_json(LINK)))
        .expect(1)
        .mount(&server)
        .await;
    let register = RegisterLink {
        institution: "gotham_mx_business".into(),
        username: "mfa_default".into(),
        password: Some("pass_valid".into()),
        ..Default::default()
    };
    let err = client.links().register(&register).await.unwrap_err();
    let challenge = err.token_required().expect("a 428 challenge");
    assert_eq!(challenge.path, "api/links/");
    assert_eq!(challenge.link, Some(link_id()));

    let wrong = client
        .links()
        .resume(&MfaResume::new(challenge, "999999").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        wrong
            .token_required()
            .unwrap()
            .token_generation_data
            .as_ref()
            .unwrap()
            .value
            .as_deref(),
        Some("67890")
    );
    let link = client
        .links()
        .resume(&MfaResume::new(challenge, "111111").unwrap())
        .await
        .unwrap();
    assert_eq!(link.id, Some(link_id()));
}

/// One resource's list, retrieve (sync and async), detail and delete against a stub that
/// answers with `item`; the detail comes in every shape Belvo's specs give it (an object, an
/// array holding it, or one of each where the two specs disagree).
async fn exercise<R: belvo::Resource>(item: serde_json::Value, retrieve_answers_object: bool)
where
    R::Item: std::fmt::Debug,
{
    let (server, client) = stub().await;
    let id = item["id"].as_str().unwrap().to_owned();
    let collection = format!("/{}", R::PATH);
    Mock::given(method("GET"))
        .and(path(&collection))
        .and(query_param("link", LINK))
        .and(query_param("page_size", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 1, "next": null, "previous": null, "results": [item.clone()]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(&collection))
        .and(header("X-Belvo-Request-Mode", "async"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"request_id": "d5d0106ac9cc43d5b36199fe831f6bbe"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let retrieved = if retrieve_answers_object {
        item.clone()
    } else {
        json!([item.clone()])
    };
    Mock::given(method("POST"))
        .and(path(&collection))
        .and(body_partial_json(json!({"link": LINK, "save_data": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(retrieved))
        .expect(1)
        .mount(&server)
        .await;
    let shapes = spec_detail_shapes(&collection);
    for array in &shapes {
        let body = if *array {
            json!([item.clone()])
        } else {
            item.clone()
        };
        answer_once(
            &server,
            "GET",
            format!("{collection}{id}/"),
            ResponseTemplate::new(200).set_body_json(body),
        )
        .await;
    }
    expect_call(
        &server,
        "DELETE",
        format!("{collection}{id}/"),
        ResponseTemplate::new(204),
        1,
    )
    .await;

    let api = client.resource::<R>();
    let listed: Vec<R::Item> = api
        .list(&Filters::new().link(link_id()).page_size(1000))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{}", R::PATH);
    let body = RetrieveRequest {
        save_data: Some(true),
        ..RetrieveRequest::for_link(link_id())
    };
    assert_eq!(api.retrieve(&body).await.unwrap().len(), 1, "{}", R::PATH);
    assert_eq!(
        api.retrieve_async(&body).await.unwrap().request_id,
        "d5d0106ac9cc43d5b36199fe831f6bbe"
    );
    for array in &shapes {
        let detail = api.get(id.parse().unwrap()).await.unwrap_or_else(|e| {
            panic!(
                "{} detail as {}: {e:?}",
                R::PATH,
                if *array { "array" } else { "object" }
            )
        });
        assert!(format!("{detail:?}").contains(&id), "{}", R::PATH);
    }
    api.delete(id.parse().unwrap()).await.unwrap();
}

#[tokio::test]
async fn every_data_resource_lists_retrieves_details_and_deletes() {
    let id = "076c66e5-90f5-4e01-99c7-50e32f65ae42";
    let base = json!({"id": id, "link": LINK, "created_at": "2022-02-09T08:45:50.406032Z",
                      "collected_at": "2022-02-09T08:45:50.406032Z"});
    let with = |extra: serde_json::Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let account = transaction_json(id)["account"].clone();
    exercise::<belvo::Accounts>(
        with(json!({"id": id, "category": "CHECKING_ACCOUNT", "balance": account["balance"]})),
        false,
    )
    .await;
    exercise::<belvo::Transactions>(transaction_json(id), false).await;
    exercise::<belvo::Balances>(
        json!({"id": id, "account": account, "value_date": "2019-10-23", "balance": 5000.0}),
        false,
    )
    .await;
    exercise::<belvo::Owners>(
        with(
            json!({"display_name": "John Doe", "email": "johndoe@belvo.com",
        "document_id": {"document_type": "CURP", "document_number": "BLPM951331IONVGR54"}}),
        ),
        false,
    )
    .await;
    exercise::<belvo::Incomes>(with(json!({"income_source_type": "BANK", "monthly_average": 1705.46,
        "income_streams": [{"account_id": "EBACA-89077589", "income_type": "SALARY", "frequency": "MONTHLY", "confidence": "HIGH"}]})), true).await;
    exercise::<belvo::RecurringExpenses>(with(json!({"name": "Netflix", "frequency": "MONTHLY",
        "transactions": [{"amount": 32.9, "description": "Netflix.com/march", "value_date": "2019-10-23"}]})), false).await;
    exercise::<belvo::RiskInsights>(
        with(json!({"accounts": [id], "balances_metrics": {"closing_balance": 35901.46}})),
        true,
    )
    .await;
    exercise::<belvo::EmploymentRecords>(with(json!({"internal_identification": "BLPM951331IONVGR54",
        "employment_records": [{"employer": "Batman Enterprises CDMX", "start_date": "2019-10-10", "end_date": null}]})), false).await;
    exercise::<belvo::Invoices>(
        with(
            json!({"invoice_identification": "A1A1A1A1-2B2B-3C33-D44D-555555E55EE",
        "invoice_type": "Ingreso", "type": "INFLOW", "total_amount": 454, "status": "Vigente"}),
        ),
        false,
    )
    .await;
    exercise::<belvo::TaxReturns>(
        with(json!({"informacion_general": {"ejercicio": 2019}, "type": "yearly"})),
        false,
    )
    .await;
    exercise::<belvo::TaxStatus>(
        with(json!({"official_name": "John Doe", "id_cif": "12345678901"})),
        true,
    )
    .await;
    exercise::<belvo::TaxComplianceStatus>(
        with(json!({"rfc": "KDFC211118IS0", "outcome": "POSITIVE"})),
        true,
    )
    .await;
    exercise::<belvo::TaxRetentions>(
        with(
            json!({"invoice_identification": "def404af-5eef-4112-aa99-d1ec8493b89a",
        "receiver_nationality": "NATIONAL", "total_retained_amount": 1550.7}),
        ),
        false,
    )
    .await;
}

#[tokio::test]
async fn money_is_exact_and_unknown_enum_values_are_kept() {
    let (server, client) = stub().await;
    let mut tx = transaction_json("076c66e5-90f5-4e01-99c7-50e32f65ae42");
    tx["category"] = json!("Space Travel");
    tx["amount"] = json!(0.1);
    tx["balance"] = json!("16907.96");
    tx["brand_new_field"] = json!({"x": 1});
    Mock::given(method("GET"))
        .and(path(
            "/api/transactions/076c66e5-90f5-4e01-99c7-50e32f65ae42/",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&tx))
        .mount(&server)
        .await;
    let t = client
        .transactions()
        .get("076c66e5-90f5-4e01-99c7-50e32f65ae42".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(t.amount.unwrap().to_string(), "0.1");
    assert_eq!(t.balance.unwrap().to_string(), "16907.96");
    assert_eq!(
        t.category,
        Some(belvo::models::TransactionCategory::Unrecognized(
            "Space Travel".into()
        ))
    );
    assert_eq!(t.r#type, Some(belvo::models::TransactionType::Inflow));
    assert_eq!(
        t.account.unwrap().category,
        Some(belvo::models::AccountCategory::CheckingAccount)
    );
}

#[test]
fn every_resources_detail_shape_is_the_specs() {
    fn check<R: belvo::Resource>() {
        let expected = match spec_detail_shapes(&format!("/{}", R::PATH)).as_slice() {
            [false] => belvo::DetailShape::Object,
            [true] => belvo::DetailShape::Array,
            _ => belvo::DetailShape::ObjectOrArray,
        };
        assert_eq!(R::DETAIL, expected, "{}", R::PATH);
    }
    check::<belvo::Accounts>();
    check::<belvo::Transactions>();
    check::<belvo::Balances>();
    check::<belvo::Owners>();
    check::<belvo::Incomes>();
    check::<belvo::RecurringExpenses>();
    check::<belvo::RiskInsights>();
    check::<belvo::EmploymentRecords>();
    check::<belvo::Invoices>();
    check::<belvo::TaxReturns>();
    check::<belvo::TaxStatus>();
    check::<belvo::TaxComplianceStatus>();
    check::<belvo::TaxRetentions>();
}

#[tokio::test]
async fn recurring_expenses_and_risk_insights_details_are_the_specs_arrays() {
    // Both specs: `GET /api/recurring-expenses/{id}/` and `GET /api/risk-insights/{id}/`
    // answer an array of the object.
    assert_eq!(spec_detail_shapes("/api/recurring-expenses/"), [true]);
    assert_eq!(spec_detail_shapes("/api/risk-insights/"), [true]);
    let (server, client) = stub().await;
    let id = "076c66e5-90f5-4e01-99c7-50e32f65ae42";
    expect_call(&server, "GET", format!("/api/recurring-expenses/{id}/"), ResponseTemplate::new(200).set_body_json(json!([{"id": id,
            "name": "Netflix", "frequency": "MONTHLY", "category": "Online Platforms & Leisure",
            "transactions": [{"amount": 32.9, "description": "Netflix.com/march", "value_date": "2019-10-23"}]}])), 1).await;
    expect_call(
        &server,
        "GET",
        format!("/api/risk-insights/{id}/"),
        ResponseTemplate::new(200).set_body_json(json!([{"id": id, "link": LINK,
            "accounts": [id], "balances_metrics": {"closing_balance": 35901.46}}])),
        1,
    )
    .await;
    let expense = client
        .recurring_expenses()
        .get(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(expense.id, Some(id.parse().unwrap()));
    assert_eq!(expense.name.as_deref(), Some("Netflix"));
    let insights = client
        .risk_insights()
        .get(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(insights.link, Some(link_id()));
}

#[tokio::test]
async fn incomes_detail_decodes_both_specs_shapes() {
    // 1.35.0 answers an array, 1.223.0 the object.
    assert_eq!(spec_detail_shapes("/api/incomes/"), [true, false]);
    let (server, client) = stub().await;
    let id = "076c66e5-90f5-4e01-99c7-50e32f65ae42";
    let income =
        json!({"id": id, "link": LINK, "income_source_type": "BANK", "monthly_average": 1705.46});
    for body in [json!([income.clone()]), income.clone()] {
        answer_once(
            &server,
            "GET",
            format!("/api/incomes/{id}/"),
            ResponseTemplate::new(200).set_body_json(body),
        )
        .await;
    }
    for _ in 0..2 {
        let got = client.incomes().get(id.parse().unwrap()).await.unwrap();
        assert_eq!(got.link, Some(link_id()));
        assert_eq!(got.monthly_average.unwrap().to_string(), "1705.46");
    }
}

#[tokio::test]
async fn a_detail_array_without_exactly_one_object_is_a_decode_error() {
    let server = wiremock::MockServer::start().await;
    let client = crate::support::client_for(&server, belvo::RetryPolicy::none());
    let id = "076c66e5-90f5-4e01-99c7-50e32f65ae42";
    let one = json!({"id": id, "name": "Netflix"});
    for body in [json!([]), json!([one.clone(), one.clone()])] {
        answer_once(
            &server,
            "GET",
            format!("/api/recurring-expenses/{id}/"),
            ResponseTemplate::new(200).set_body_json(&body),
        )
        .await;
        let err = client
            .recurring_expenses()
            .get(id.parse().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, belvo::Error::Decode { .. }) && err.to_string().contains("decoded"),
            "{body}: {err:?}"
        );
    }
    // An object where the spec says array is not silently accepted either.
    expect_call(
        &server,
        "GET",
        format!("/api/risk-insights/{id}/"),
        ResponseTemplate::new(200).set_body_json(&one),
        1,
    )
    .await;
    let err = client
        .risk_insights()
        .get(id.parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, belvo::Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn get_verbatim_keeps_belvos_json_exactly_in_one_request() {
    let (server, client) = stub().await;
    // Belvo's spacing, key order, number spelling and a field this client does not model.
    let body = r#"{
  "id": "30cb4806-6e00-48a4-91c9-ca55968576c8",
  "institution": "erebor_mx_retail",  "status": "valid",
  "external_id": "user-7f3a", "brand_new_field": {"score": 1.50, "tags": ["Crédito"]},
  "created_at": "2022-02-09T08:45:50.406032Z", "access_mode": "recurrent"
}"#;
    expect_call(
        &server,
        "GET",
        format!("/api/links/{LINK}/"),
        ResponseTemplate::new(200).set_body_raw(body, "application/json"),
        1,
    )
    .await;
    let (link, text) = client.links().get_verbatim(link_id()).await.unwrap();
    assert_eq!(text, body);
    assert_eq!(link.id, Some(link_id()));
    assert_eq!(link.external_id.as_deref(), Some("user-7f3a"));
    assert_eq!(link.status, Some(belvo::models::LinkStatus::Valid));
    // The re-serialised typed link would have lost what the verbatim text keeps.
    assert!(
        !serde_json::to_string(&link)
            .unwrap()
            .contains("brand_new_field")
    );
    assert!(text.contains(r#""score": 1.50"#));
}

#[tokio::test]
async fn an_empty_list_filter_is_refused_before_any_request() {
    let (server, client) = stub().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 0, "next": null, "previous": null, "results": []})),
        )
        .expect(0)
        .mount(&server)
        .await;
    let empty: [Uuid; 0] = [];
    let refused = |err: belvo::Error, parameter: &str| {
        assert!(
            matches!(&err, belvo::Error::EmptyListFilter { parameter: p } if p == parameter),
            "{err:?}"
        );
        assert!(err.to_string().contains(parameter), "{err}");
    };
    let listed: Result<Vec<_>, _> = client
        .transactions()
        .list(&Filters::new().is_in("link", empty).page_size(1000))
        .try_collect()
        .await;
    refused(listed.unwrap_err(), "link__in");
    let listed: Result<Vec<_>, _> = client
        .links()
        .list(&Filters::new().is_in("id", [""]))
        .try_collect()
        .await;
    refused(listed.unwrap_err(), "id__in");
    let listed: Result<Vec<_>, _> = client
        .institutions()
        .list(&Filters::new().all_in("resources", Vec::<String>::new()))
        .try_collect()
        .await;
    refused(listed.unwrap_err(), "resources__allin");
    // Spelled by hand, or resumed from a stored URL: the same guard.
    let listed: Result<Vec<_>, _> = client
        .accounts()
        .list(&Filters::new().eq("link__in", ""))
        .try_collect()
        .await;
    refused(listed.unwrap_err(), "link__in");
    refused(
        client
            .first_page_url("api/owners/", &Filters::new().is_in("link", empty))
            .unwrap_err(),
        "link__in",
    );
    let resumed: Result<Vec<belvo::Page<serde_json::Value>>, _> = client
        .pages_from(format!(
            "{}/api/transactions/?link__in=&page=2",
            server.uri()
        ))
        .try_collect()
        .await;
    refused(resumed.unwrap_err(), "link__in");
    assert!(server.received_requests().await.unwrap().is_empty());

    // A non-empty list and an empty exclusion list go out as usual.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/links/"))
        .and(query_param("id__in", LINK))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"count": 1, "next": null, "previous": null, "results": [link_json(LINK)]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let listed: Vec<_> = client
        .links()
        .list(
            &Filters::new()
                .is_in("id", [link_id()])
                .not_in("created_by", empty),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let requests = server.received_requests().await.unwrap();
    assert!(!requests[0].url.query().unwrap().contains("not_in"));
}
