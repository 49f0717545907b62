//! Bad input is INVALID_ARGUMENT with a BadRequest naming the field, never INTERNAL.

use connect_proto::link::v1::{
    AdoptLinkRequest, ApplyLinkEventRequest, DeleteLinkRequest, GetLinkRequest, ListLinksRequest,
    RefreshLinkRequest, RegisterLinkRequest,
};
use database::Backend;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::harness::{Bench, on_both_backends};

on_both_backends!(bad_fields_are_named, unknown_links_are_not_found);

#[track_caller]
fn assert_fields(err: Status, expected: &[&str]) {
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields: Vec<_> = err
        .get_details_bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, expected);
}

async fn bad_fields_are_named(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let mut c = bench.client();
    let valid_id = uuid::Uuid::new_v4().to_string();

    let err = c
        .register_link(RegisterLinkRequest {
            owner: String::new(),
            link_id: "not-a-uuid".into(),
            region: "zz".into(),
        })
        .await
        .unwrap_err();
    assert_fields(err, &["owner", "link_id", "region"]);

    let err = c
        .get_link(GetLinkRequest {
            link_id: "123".into(),
            owner: String::new(),
        })
        .await
        .unwrap_err();
    assert_fields(err, &["link_id"]);

    let err = c
        .list_links(ListLinksRequest {
            owner: String::new(),
            page_size: 500,
            page_token: String::new(),
            statuses: vec![0, 42],
            include_deleted: false,
        })
        .await
        .unwrap_err();
    assert_fields(err, &["owner", "page_size", "statuses[0]", "statuses[1]"]);

    let err = c
        .delete_link(DeleteLinkRequest {
            link_id: String::new(),
            owner: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_fields(err, &["link_id"]);

    let err = c
        .refresh_link(RefreshLinkRequest {
            link_id: "x".into(),
            owner: "alice".into(),
            fetch_resources: vec![String::new()],
        })
        .await
        .unwrap_err();
    assert_fields(err, &["link_id", "fetch_resources[0]"]);

    let err = c
        .apply_link_event(ApplyLinkEventRequest {
            link_id: valid_id.clone(),
            code: 0,
            webhook_id: String::new(),
            received_at: None,
            error_code: String::new(),
            error_message: String::new(),
        })
        .await
        .unwrap_err();
    assert_fields(err, &["code", "webhook_id", "received_at"]);

    let err = c
        .adopt_link(AdoptLinkRequest {
            region: "zz".into(),
            link_id: valid_id,
            external_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_fields(err, &["region", "external_id"]);
    bench.stop().await;
}

async fn unknown_links_are_not_found(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let mut c = bench.client();
    let id = uuid::Uuid::new_v4().to_string();
    let err = c
        .get_link(GetLinkRequest {
            link_id: id.clone(),
            owner: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .delete_link(DeleteLinkRequest {
            link_id: id.clone(),
            owner: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .refresh_link(RefreshLinkRequest {
            link_id: id,
            owner: "alice".into(),
            fetch_resources: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    bench.stop().await;
}
