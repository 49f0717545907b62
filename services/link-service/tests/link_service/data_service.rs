//! What link-service tells data-service: `NotifyLinkRegistered` after RegisterLink and
//! AdoptLink, `PurgeLink` after DeleteLink (asked again until data-service confirms it); a
//! failing or absent data-service never fails (or undoes) the link-service operation.

use connect_proto::data::v1::{NotifyLinkRegisteredRequest, PurgeLinkRequest};
use connect_proto::link::v1::{AdoptLinkRequest, DeleteLinkRequest, LinkStatus};
use database::Backend;

use crate::fake_data::DataCall;
use crate::harness::{Bench, fast_removals, on_both_backends};
use crate::register::register;

on_both_backends!(
    registering_notifies_data_service_with_the_link,
    adopting_notifies_data_service,
    deleting_purges_at_data_service_after_belvo,
    a_failing_data_service_fails_nothing,
    without_a_data_service_nothing_is_called,
);

fn notice(link: &connect_proto::link::v1::Link) -> DataCall {
    DataCall::Notify(NotifyLinkRegisteredRequest {
        link_id: link.link_id.clone(),
        region: link.region.clone(),
        owner: link.owner.clone(),
        fetch_resources: link.fetch_resources.clone(),
        refresh_rate: link.refresh_rate.clone(),
    })
}

async fn registering_notifies_data_service_with_the_link(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.create_link(&bench.mx, "alice").await.to_string();
    let link = bench
        .client()
        .register_link(register("alice", &id, ""))
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    // Awaited inside RegisterLink: already there when the call returns.
    let calls = bench.data.calls();
    assert_eq!(calls, [notice(&link)]);
    let DataCall::Notify(sent) = &calls[0] else {
        unreachable!()
    };
    assert_eq!(sent.region, "mx");
    assert_eq!(sent.owner, "alice");
    assert_eq!(sent.fetch_resources, ["ACCOUNTS", "TRANSACTIONS"]);
    assert!(!sent.refresh_rate.is_empty(), "a recurrent link has one");

    // Registering again notifies again (idempotent at data-service).
    bench
        .client()
        .register_link(register("alice", &id, "mx"))
        .await
        .unwrap();
    assert_eq!(bench.data.calls().len(), 2);
    bench.stop().await;
}

async fn adopting_notifies_data_service(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let external_id = bench.tokens.mint("carol");
    let id = bench
        .create_link_with_external_id(&bench.mx, Some(external_id.clone()))
        .await
        .to_string();
    let request = AdoptLinkRequest {
        region: "mx".into(),
        link_id: id.clone(),
        external_id,
    };
    let adopted = bench
        .client()
        .adopt_link(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(adopted.created);
    let link = adopted.link.unwrap();
    // Sent in the background (data-service is the caller of AdoptLink): wait for it.
    let calls = bench.data.wait_for(|calls| !calls.is_empty()).await;
    assert_eq!(calls, [notice(&link)]);

    // Adopting a link again changes nothing and tells data-service nothing new.
    let again = bench
        .client()
        .adopt_link(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!again.created);
    assert_eq!(bench.data.calls().len(), 1);
    bench.stop().await;
}

async fn deleting_purges_at_data_service_after_belvo(backend: Backend) {
    let Some(bench) = Bench::start(backend).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let deleted = bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(deleted.status(), LinkStatus::Deleted);
    assert!(bench.emulator.control().link(id).is_err(), "gone at Belvo");
    let calls = bench.data.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[1],
        DataCall::Purge(PurgeLinkRequest {
            link_id: id.to_string(),
            erase: false,
        })
    );

    // Deleting a deleted link again asks for nothing more.
    bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap();
    assert_eq!(bench.data.calls().len(), 2);
    bench.stop().await;
}

async fn a_failing_data_service_fails_nothing(backend: Backend) {
    let Some(bench) = Bench::start_with(backend, fast_removals).await else {
        return;
    };
    bench.data.fail();
    let id = bench.create_link(&bench.mx, "alice").await;
    let registered = bench
        .client()
        .register_link(register("alice", &id.to_string(), "mx"))
        .await
        .unwrap()
        .into_inner();
    assert!(registered.created);
    let deleted = bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    // The delete stands: at Belvo and here.
    assert_eq!(deleted.status(), LinkStatus::Deleted);
    assert!(bench.emulator.control().link(id).is_err());
    let calls = bench.data.calls();
    assert!(
        matches!(
            calls.as_slice(),
            [DataCall::Notify(_), DataCall::Purge(_), ..]
        ),
        "{calls:?}"
    );
    // The purge is asked for again until data-service confirms it.
    bench.data.recover();
    let purges = |calls: &[DataCall]| {
        calls
            .iter()
            .filter(|c| matches!(c, DataCall::Purge(_)))
            .count()
    };
    let calls = bench.data.wait_for(|calls| purges(calls) >= 2).await;
    assert!(purges(&calls) >= 2, "{calls:?}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let confirmed: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM link_removals WHERE done_at IS NOT NULL")
                .fetch_one(bench.pool())
                .await
                .unwrap();
        if confirmed == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never confirmed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    bench.stop().await;
}

async fn without_a_data_service_nothing_is_called(backend: Backend) {
    let Some(bench) = Bench::start_with(backend, |c| c.clients.data_service = None).await else {
        return;
    };
    let id = bench.registered_link("alice").await;
    let deleted = bench
        .client()
        .delete_link(DeleteLinkRequest {
            link_id: id.to_string(),
            owner: "alice".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .link
        .unwrap();
    assert_eq!(deleted.status(), LinkStatus::Deleted);
    assert!(bench.data.calls().is_empty());
    bench.stop().await;
}
