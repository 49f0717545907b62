//! Failures: every bad field is INVALID_ARGUMENT naming it (and Belvo is not called);
//! Belvo down, 5xx, dropped connections and timeouts are UNAVAILABLE; keys Belvo refuses are
//! FAILED_PRECONDITION with Belvo's code kept; nothing is INTERNAL.

use belvo_emulator::Fault;
use connect_proto::common::v1::Product;
use connect_proto::token::v1::{
    CreateWidgetTokenRequest, DocumentType, IdentificationInfo, WidgetOverrides,
};
use database::Backend;
use grpc_runtime::status::BELVO_DOMAIN;
use tonic::Code;

use crate::support::{Harness, Links, assert_bad_field, error_info, on_both_backends};

on_both_backends!(
    bad_input_names_the_field_and_never_reaches_belvo,
    belvo_failures_are_unavailable_and_refused_keys_are_not_internal,
);

fn banking(region: &str) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        region: region.into(),
        owner: "dave".into(),
        products: vec![Product::Banking as i32],
        ..Default::default()
    }
}

fn cpf(number: &str, name: &str) -> IdentificationInfo {
    IdentificationInfo {
        r#type: DocumentType::Cpf as i32,
        number: number.into(),
        name: name.into(),
    }
}

fn cnpj(number: &str, name: &str) -> IdentificationInfo {
    IdentificationInfo {
        r#type: DocumentType::Cnpj as i32,
        number: number.into(),
        name: name.into(),
    }
}

/// A Brazil (OFDA) banking request with this consent identification.
fn brazil(identification_info: Vec<IdentificationInfo>) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        widget: Some(WidgetOverrides {
            identification_info,
            ..Default::default()
        }),
        ..banking("br")
    }
}

fn with_widget(widget: WidgetOverrides) -> CreateWidgetTokenRequest {
    CreateWidgetTokenRequest {
        widget: Some(widget),
        ..banking("mx")
    }
}

async fn bad_input_names_the_field_and_never_reaches_belvo(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    let cases: Vec<(CreateWidgetTokenRequest, &str)> = vec![
        (banking(""), "region"),
        (banking("xx"), "region"),
        (
            CreateWidgetTokenRequest {
                owner: String::new(),
                ..banking("mx")
            },
            "owner",
        ),
        (
            CreateWidgetTokenRequest {
                owner: "   ".into(),
                ..banking("mx")
            },
            "owner",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![],
                ..banking("mx")
            },
            "products",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![Product::Banking as i32, Product::Unspecified as i32],
                ..banking("mx")
            },
            "products[1]",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![42],
                ..banking("mx")
            },
            "products[0]",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![Product::Fiscal as i32],
                ..brazil(vec![cpf("76109277673", "Ralph Bragg")])
            },
            "products[0]",
        ),
        // OFDA's consent identification.
        (banking("br"), "widget.identification_info"),
        (
            brazil(vec![
                cpf("76109277673", "A"),
                cnpj("50685362006773", "B"),
                cpf("76109277673", "C"),
            ]),
            "widget.identification_info",
        ),
        (
            brazil(vec![cpf("761.092.776-73", "Ralph Bragg")]),
            "widget.identification_info[0].number",
        ),
        (
            brazil(vec![cpf("7610927767", "Ralph Bragg")]),
            "widget.identification_info[0].number",
        ),
        (
            brazil(vec![
                cpf("76109277673", "Ralph Bragg"),
                cnpj("76109277673", "ACME Ltda"),
            ]),
            "widget.identification_info[1].number",
        ),
        (
            brazil(vec![cpf("76109277673", "  ")]),
            "widget.identification_info[0].name",
        ),
        (
            brazil(vec![IdentificationInfo {
                r#type: DocumentType::Unspecified as i32,
                number: "76109277673".into(),
                name: "Ralph Bragg".into(),
            }]),
            "widget.identification_info[0].type",
        ),
        (
            brazil(vec![
                cnpj("50685362006773", "ACME Ltda"),
                cnpj("50685362006773", "ACME Ltda"),
            ]),
            "widget.identification_info[1].type",
        ),
        (
            with_widget(WidgetOverrides {
                identification_info: vec![cpf("76109277673", "Ralph Bragg")],
                ..Default::default()
            }),
            "widget.identification_info",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![],
                fetch_resources: vec!["ACCOUNTS".into(), "NOT_A_RESOURCE".into()],
                ..banking("mx")
            },
            "fetch_resources[1]",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![],
                // A Belvo resource Mexico's configuration does not offer.
                fetch_resources: vec!["BILLS".into()],
                ..banking("mx")
            },
            "fetch_resources[0]",
        ),
        (
            CreateWidgetTokenRequest {
                products: vec![],
                fetch_resources: vec!["INCOMES".into()],
                ..banking("mx")
            },
            "fetch_resources",
        ),
        (
            CreateWidgetTokenRequest {
                fetch_resources: vec!["ACCOUNTS".into()],
                ..banking("mx")
            },
            "fetch_resources",
        ),
        (
            CreateWidgetTokenRequest {
                link_id: Some("not-a-uuid".into()),
                ..banking("mx")
            },
            "link_id",
        ),
        (
            with_widget(WidgetOverrides {
                locale: Some("fr".into()),
                ..Default::default()
            }),
            "widget.locale",
        ),
        (
            CreateWidgetTokenRequest {
                widget: Some(WidgetOverrides {
                    locale: Some("es".into()),
                    identification_info: vec![cpf("76109277673", "Ralph Bragg")],
                    ..Default::default()
                }),
                ..banking("br")
            },
            "widget.locale",
        ),
        (
            with_widget(WidgetOverrides {
                country_codes: vec!["MX".into(), "BR".into()],
                ..Default::default()
            }),
            "widget.country_codes[1]",
        ),
        (
            with_widget(WidgetOverrides {
                country_codes: vec!["mx".into()],
                ..Default::default()
            }),
            "widget.country_codes[0]",
        ),
        (
            with_widget(WidgetOverrides {
                institution_types: vec!["gig".into()],
                ..Default::default()
            }),
            "widget.institution_types[0]",
        ),
        (
            with_widget(WidgetOverrides {
                institutions: vec!["Erebor MX".into()],
                ..Default::default()
            }),
            "widget.institutions[0]",
        ),
        (
            with_widget(WidgetOverrides {
                access_mode: 9,
                ..Default::default()
            }),
            "widget.access_mode",
        ),
    ];
    for (request, field) in cases {
        assert_bad_field(h.create(request).await, field);
    }
    // Several problems are reported together.
    let status = h
        .create(CreateWidgetTokenRequest {
            region: "xx".into(),
            owner: String::new(),
            link_id: Some("123".into()),
            ..banking("mx")
        })
        .await
        .unwrap_err();
    for field in ["region", "owner", "link_id"] {
        assert!(status.message().contains(field), "{}", status.message());
    }
    assert_eq!(h.token_requests(), 0, "bad input must not reach Belvo");
    h.stop().await;
}

async fn belvo_failures_are_unavailable_and_refused_keys_are_not_internal(backend: Backend) {
    let Some(h) = Harness::start(backend, Links::None).await else {
        return;
    };
    for status in [500, 503] {
        let fault = h.fail_tokens(Fault::Status {
            status,
            retry_after: None,
        });
        let err = h.create(banking("mx")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{status}: {err:?}");
        let (_, domain, metadata) = error_info(&err);
        assert_eq!(domain, BELVO_DOMAIN);
        assert_eq!(metadata["belvo_status"], status.to_string());
        assert!(h.emulator.control().remove_fault(fault));
    }
    // The connection closed without an answer, and an answer slower than the timeout.
    for fault in [Fault::Drop, Fault::Latency { ms: 4_000 }] {
        let id = h.fail_tokens(fault.clone());
        let err = h.create(banking("mx")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{fault:?}: {err:?}");
        assert!(h.emulator.control().remove_fault(id));
    }
    // Nobody listening where Belvo should be.
    let err = h.create(banking("off")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    // The firewall's HTML 403 is throttling: also UNAVAILABLE.
    let id = h.fail_tokens(Fault::Firewall);
    let err = h.create(banking("mx")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(h.emulator.control().remove_fault(id));

    // Keys Belvo refuses: the caller cannot fix that, but it is no internal error either.
    let err = h.create(banking("zz")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let (reason, domain, metadata) = error_info(&err);
    assert_eq!(reason, "authentication_failed");
    assert_eq!(domain, BELVO_DOMAIN);
    assert_eq!(metadata["belvo_status"], "401");
    assert!(!err.message().contains("unknown-password"));

    // With the faults gone, tokens flow again.
    assert!(h.create(banking("mx")).await.is_ok());
    h.stop().await;
}
