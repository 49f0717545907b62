//! Belvo and token-service failures: 5xx and unreachable dependencies are UNAVAILABLE (safe
//! to retry), and nothing is stored.

use belvo_emulator::{Fault, FaultSpec};
use connect_proto::link::v1::{DeleteLinkRequest, GetLinkRequest, LinkStatus, RefreshLinkRequest};
use database::Backend;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::harness::{Bench, on_both_backends};
use crate::register::register;

on_both_backends!(
    belvo_5xx_is_unavailable,
    belvo_unreachable_is_unavailable,
    token_service_down_is_unavailable,
    belvo_4xx_keeps_belvos_code,
);

fn fault(path: &str, status: u16) -> FaultSpec {
    FaultSpec {
        path: path.into(),
        method: None,
        fault: Fault::Status {
            status,
            retry_after: None,
        },
        probability: None,
        count: None,
        seed: None,
    }
}

async fn belvo_5xx_is_unavailable(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let rule = bench
        .emulator
        .control()
        .add_fault(fault("/api/links/", 503));
    let err = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.domain, "belvo.com");
    assert_eq!(info.metadata["belvo_status"], "503");
    let err = bench
        .client()
        .get_link(GetLinkRequest {
            link_id: id.to_string(),
            owner: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "nothing stored");

    // Registered while Belvo is up; then delete and refresh fail as UNAVAILABLE and leave
    // the link as it was.
    assert!(bench.emulator.control().remove_fault(rule));
    bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap();
    bench
        .emulator
        .control()
        .add_fault(fault("/api/links/", 500));
    let err = bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let err = bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
            fetch_resources: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    let link = bench
        .client()
        .get_link(GetLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(link.status(), LinkStatus::Valid);
    assert!(link.last_refresh_requested_at.is_none());
    bench.stop().await;
}

async fn belvo_unreachable_is_unavailable(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    bench.emulator.control().add_fault(FaultSpec {
        fault: Fault::Drop,
        ..fault("/api/links/", 0)
    });
    let err = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    bench.stop().await;
}

async fn token_service_down_is_unavailable(backend: Backend) {
    let Some(bench) = Bench::start_with(backend, |config| {
        // Nothing listens on port 1.
        config.clients.token_service.url = "http://127.0.0.1:1".into();
    })
    .await
    else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await;
    let err = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    bench.stop().await;
}

async fn belvo_4xx_keeps_belvos_code(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    // Belvo considers the link invalid (its credentials stopped working).
    bench
        .emulator
        .control()
        .set_link_status(id, belvo_emulator::LinkStatus::Invalid, false)
        .unwrap();
    let err = bench
        .client()
        .refresh_link(RefreshLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
            fetch_resources: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.domain, "belvo.com");
    assert_eq!(info.reason, "invalid_link");
    assert_eq!(info.metadata["belvo_status"], "400");
    assert!(info.metadata.contains_key("request_id"));
    bench.stop().await;
}
