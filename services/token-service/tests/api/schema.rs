//! Readiness on the schema: with migrations left to the migrate Job (`run_migrations =
//! false`), token-service on a database the Job has not migrated reports NOT_SERVING, then
//! SERVING by itself once the migrations have run, without a restart. On both backends.

use std::time::{Duration, Instant};

use connect_proto::common::v1::Product;
use connect_proto::token::v1::CreateWidgetTokenRequest;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Harness, Links, channel, on_both_backends};

/// Above the schema poll interval (2 s) with room for a slow machine.
const DEADLINE: Duration = Duration::from_secs(30);

async fn statuses(health: &mut HealthClient<tonic::transport::Channel>) -> Vec<i32> {
    let mut out = Vec::new();
    for service in ["", "connect.token.v1.TokenService"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        out.push(health.check(request).await.unwrap().into_inner().status);
    }
    out
}

async fn not_serving_until_the_job_migrates(backend: database::Backend) {
    let Some(mut h) = Harness::start_with(backend, Links::None, |config| {
        config.database.run_migrations = false;
    })
    .await
    else {
        return;
    };
    let mut health = HealthClient::new(channel(h.addr).await);
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(statuses(&mut health).await, [not_serving, not_serving]);
    assert!(
        !h.db
            .schema_status(&token_service::MIGRATOR)
            .await
            .unwrap()
            .is_ready()
    );

    // What `token-service migrate` (the Job) does, from outside the running service.
    h.db.migrate(&token_service::MIGRATOR).await.unwrap();
    let serving = ServingStatus::Serving as i32;
    let until = Instant::now() + DEADLINE;
    while statuses(&mut health).await != [serving, serving] {
        assert!(
            Instant::now() < until,
            "not SERVING {DEADLINE:?} after the migrations"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And it works on the migrated schema.
    let token = h
        .client
        .create_widget_token(CreateWidgetTokenRequest {
            region: "mx".into(),
            owner: "frank".into(),
            products: vec![Product::Employment as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!token.access_token.is_empty());
    h.stop().await;
}
on_both_backends!(not_serving_until_the_job_migrates);
