//! Encryption at rest (issue 14): with a key ring, each stored object's body is sealed in the
//! database and its description and amount are not stored beside it (nothing of them in clear);
//! all three read back as stored;
//! objects stored in clear before stay readable; after a rotation both keys' objects read;
//! without the key a sealed object is an error, never garbage. The background pass re-seals
//! every value under the active key (clear ones too), after which the key usage check lists
//! the old key as retirable and a ring without it reads everything; webhook bodies are sealed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use connect_proto::data::v1 as pb;
use data_service::MIGRATOR;
use data_service::resource::{Resource, index};
use data_service::store::{self, NewRecord, NewWebhook, RecordFilter, Store, StoreError};
use database::Backend;
use database::sqlx;
use database::testing::TestDatabase;
use grpc_runtime::SealedColumns;
use sealing::{KeyRing, OpenError};

use crate::both_backends;

/// A ring of the test's keys `ids` (each id's key is fixed by its name), `active` sealing.
fn ring(active: &str, ids: &[&str]) -> KeyRing {
    let mut text = format!("active = \"{active}\"\n[keys]\n");
    for id in ids {
        let key = [id.as_bytes()[1]; 32];
        text.push_str(&format!("\"{id}\" = \"{}\"\n", STANDARD.encode(key)));
    }
    KeyRing::parse(&text).unwrap()
}

const LINK: &str = "5d0c1a9e-0000-4000-8000-00000000a11c";

async fn store_one(store: &Store, id: &str, description: &str) {
    let transactions = Resource::of(pb::Resource::Transactions).unwrap();
    let body = serde_json::json!({
        "id": id, "value_date": "2026-11-30", "amount": 1234.56, "currency": "MXN",
        "description": description, "type": "OUTFLOW", "status": "PROCESSED",
    })
    .to_string();
    let indexed = index(transactions, &body).unwrap();
    let mut tx = store.db().pool().begin().await.unwrap();
    store
        .upsert_records(
            &mut tx,
            LINK,
            transactions,
            1,
            0,
            &[NewRecord {
                id,
                columns: indexed.columns,
                body: &body,
                content_hash: indexed.content_hash,
            }],
            None,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn read_all(store: &Store) -> Result<Vec<(String, String, String)>, StoreError> {
    let transactions = Resource::of(pb::Resource::Transactions).unwrap();
    let page = store
        .list_records(LINK, transactions, &RecordFilter::default(), 100, None)
        .await?;
    Ok(page
        .records
        .into_iter()
        .map(|r| (r.id, r.columns.description, r.body))
        .collect())
}

/// Every `description`, `amount` and `body` as the database holds them.
async fn raw(store: &Store) -> Vec<String> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT description, amount, body FROM records ORDER BY id")
            .fetch_all(store.db().pool())
            .await
            .unwrap();
    rows.into_iter().flat_map(|(d, a, b)| [d, a, b]).collect()
}

both_backends!(
    objects_are_sealed_at_rest_and_read_back_across_a_rotation,
    sealed_at_rest
);
async fn sealed_at_rest(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.db().migrate(&MIGRATOR).await.unwrap();
    // Stored in clear before encryption was turned on.
    let clear = Store::new(db.db().clone(), None);
    store_one(&clear, "t-clear", "OXXO GODE561231GR8").await;

    let sealed = Store::new(db.db().clone(), Some(ring("k1", &["k1"])));
    store_one(&sealed, "t-k1", "SPEI to Gloria Delgado").await;
    // Only the sealed body holds the description and amount.
    let stored = raw(&sealed).await;
    assert_eq!(stored[3..5], ["", ""], "{stored:?}");
    assert!(stored[5].starts_with("sealed1:k1:"), "{}", stored[5]);
    for value in &stored[3..] {
        assert!(
            !value.contains("Gloria") && !value.contains("1234"),
            "{value}"
        );
    }
    let read = read_all(&sealed).await.unwrap();
    let by_id = |id: &str| read.iter().find(|r| r.0 == id).unwrap().clone();
    assert_eq!(
        by_id("t-k1").1,
        "SPEI to Gloria Delgado",
        "read back from the body"
    );
    assert!(
        by_id("t-k1").2.contains("\"amount\":1234.56"),
        "{:?}",
        by_id("t-k1")
    );
    assert_eq!(
        by_id("t-clear").1,
        "OXXO GODE561231GR8",
        "clear rows stay readable"
    );

    // A rotation: k2 seals new objects, k1's still open.
    let rotated = Store::new(db.db().clone(), Some(ring("k2", &["k1", "k2"])));
    store_one(&rotated, "t-k2", "Nómina ACME").await;
    assert!(
        raw(&rotated)
            .await
            .iter()
            .any(|v| v.starts_with("sealed1:k2:"))
    );
    let read = read_all(&rotated).await.unwrap();
    assert_eq!(read.len(), 3);
    // Without k1 (retired too early) or without any ring: an error naming why, never garbage.
    let retired = Store::new(db.db().clone(), Some(ring("k2", &["k2"])));
    match read_all(&retired).await {
        Err(StoreError::Sealed(OpenError::UnknownKey(id))) => assert_eq!(id, "k1"),
        other => panic!("{other:?}"),
    }
    match read_all(&clear).await {
        Err(StoreError::Sealed(OpenError::NoKeyRing)) => {}
        other => panic!("{other:?}"),
    }
}

fn webhook(id: &str) -> NewWebhook {
    NewWebhook {
        webhook_id: id.to_owned(),
        region: "mx".to_owned(),
        link_id: LINK.to_owned(),
        webhook_type: "TRANSACTIONS".to_owned(),
        webhook_code: "historical_update".to_owned(),
        process_type: None,
        request_id: None,
        external_id: None,
        body: format!(r#"{{"webhook_id":"{id}","data":{{"holder":"Gloria Delgado"}}}}"#),
        received_at: 0,
    }
}

both_backends!(
    a_rotation_is_finished_by_the_background_pass_and_then_the_old_key_retires,
    rotation_finished
);
async fn rotation_finished(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.db().migrate(&MIGRATOR).await.unwrap();
    let clear = Store::new(db.db().clone(), None);
    store_one(&clear, "t-clear", "OXXO GODE561231GR8").await;
    clear.insert_webhook(&webhook("w-clear")).await.unwrap();
    let old = Store::new(db.db().clone(), Some(ring("k1", &["k1"])));
    // More than one batch of the pass under the old key.
    for n in 0..520 {
        store_one(&old, &format!("t-k1-{n:04}"), "SPEI to Gloria Delgado").await;
    }
    old.insert_webhook(&webhook("w-k1")).await.unwrap();
    let sealed_body: String =
        sqlx::query_scalar("SELECT body FROM webhook_events WHERE webhook_id = 'w-k1'")
            .fetch_one(db.db().pool())
            .await
            .unwrap();
    assert!(sealed_body.starts_with("sealed1:k1:") && !sealed_body.contains("Gloria"));
    assert!(
        old.webhook("w-k1")
            .await
            .unwrap()
            .unwrap()
            .body
            .contains("Gloria"),
        "a sealed webhook reads back"
    );

    let rotated = ring("k2", &["k1", "k2"]);
    let columns = SealedColumns::new(
        db.db().clone(),
        Some(rotated.clone()),
        store::SEALED,
        &prometheus::Registry::new(),
    )
    .unwrap();
    let before = columns.usage().await.unwrap();
    assert!(before.retirable_keys.is_empty(), "{before:?}");
    let records = &before.columns[0];
    assert_eq!(
        (records.sealed_values["k1"], records.clear_values),
        (520, 1)
    );

    let reports = columns.pass().await.unwrap();
    assert_eq!(
        reports.iter().map(|r| r.resealed).collect::<Vec<_>>(),
        [521, 2]
    );
    assert_eq!(
        columns.pass().await.unwrap()[0].resealed,
        0,
        "a second pass finds nothing to do"
    );
    // Another replica's periodic pass skips what was passed over lately under k2.
    let hour = std::time::Duration::from_secs(3600);
    assert!(columns.pass_unless_recent(hour).await.unwrap().is_empty());
    let after = columns.usage().await.unwrap();
    assert_eq!(after.active_key, "k2");
    assert_eq!(after.retirable_keys, ["k1"], "{after:?}");
    for column in &after.columns {
        assert_eq!(
            (
                column.clear_values,
                column.unknown_key_values,
                column.sealed_values["k1"]
            ),
            (0, 0, 0),
            "{column:?}"
        );
    }
    assert_eq!(after.columns[0].sealed_values["k2"], 521);
    // The clear row's amount and description were folded into its sealed body.
    for value in raw(&clear)
        .await
        .iter()
        .filter(|v| !v.starts_with("sealed1:"))
    {
        assert_eq!(value, "", "nothing left in clear");
    }

    // k1 retired: everything reads, the clear row's fields included.
    let retired = Store::new(db.db().clone(), Some(ring("k2", &["k2"])));
    let read = read_all(&retired).await.unwrap();
    assert_eq!(read.len(), 100, "a page of the 521");
    let clear_row = retired
        .list_records(
            LINK,
            Resource::of(pb::Resource::Transactions).unwrap(),
            &RecordFilter::default(),
            1000,
            None,
        )
        .await
        .unwrap()
        .records
        .into_iter()
        .find(|r| r.id == "t-clear")
        .unwrap();
    assert_eq!(clear_row.columns.description, "OXXO GODE561231GR8");
    assert_eq!(clear_row.columns.amount, "1234.56");
    for id in ["w-clear", "w-k1"] {
        let w = retired.webhook(id).await.unwrap().unwrap();
        assert!(w.body.contains("Gloria"), "{id}: {}", w.body);
    }

    // A value under a key no longer in the ring is counted, not lost.
    store_one(&old, "t-late", "sealed by a replica still on k1").await;
    let with_k2_only = SealedColumns::new(
        db.db().clone(),
        Some(ring("k2", &["k2"])),
        store::SEALED,
        &prometheus::Registry::new(),
    )
    .unwrap();
    assert_eq!(with_k2_only.pass().await.unwrap()[0].unopenable, 1);
    assert_eq!(
        with_k2_only.usage().await.unwrap().columns[0].unknown_key_values,
        1
    );
    // A new active key is passed over at once, whatever the last pass under another key.
    let k3 = SealedColumns::new(
        db.db().clone(),
        Some(ring("k3", &["k2", "k3"])),
        store::SEALED,
        &prometheus::Registry::new(),
    )
    .unwrap();
    assert_eq!(k3.pass_unless_recent(hour).await.unwrap().len(), 2);
}
