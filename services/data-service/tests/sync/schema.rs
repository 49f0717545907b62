//! Readiness on the schema: with migrations left to the migrate Job (`run_migrations =
//! false`), data-service on a database the Job has not migrated yet reports NOT_SERVING and
//! starts no background work (claims no job), then becomes SERVING and starts working by
//! itself once the migrations have run, without a restart. On both backends.

use std::time::Duration;

use data_service::config::{Config, SyncConfig};
use data_service::resource::stored_resources;
use data_service::store::{JobMode, Store};
use data_service::{Application, MIGRATOR};
use database::testing::TestDatabase;
use database::{Backend, Database};
use grpc_runtime::{Listeners, RunningServer, ServerConfig, Service as _, Shutdown};
use sqlx::Row as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::both_backends;
use crate::support::{emulator_regions, eventually, fast_sync};

const SERVICE: &str = "connect.data.v1.DataService";
/// Above the schema poll interval (2 s) with room for a slow machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// data-service started on `db` as production starts it: migrations left to the Job.
async fn start_unmigrated(
    db: &TestDatabase,
    emulator: &belvo_emulator::EmulatorHandle,
    sync: SyncConfig,
) -> (
    Application,
    Shutdown,
    HealthClient<tonic::transport::Channel>,
) {
    let mut database = db.config();
    database.run_migrations = false;
    let shutdown = Shutdown::new();
    let config = Config {
        server: ServerConfig::for_tests(),
        database,
        sync,
        ..Config::default()
    };
    let app = Application::build(
        config,
        emulator_regions(emulator),
        Listeners::local().await.unwrap(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = HealthClient::new(channel);
    (app, shutdown, health)
}

async fn status(health: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

async fn assert_health(health: &mut HealthClient<tonic::transport::Channel>, want: ServingStatus) {
    for service in ["", SERVICE] {
        assert_eq!(status(health, service).await, want as i32, "{service:?}");
    }
}

async fn wait_serving(health: &mut HealthClient<tonic::transport::Channel>) {
    let serving = eventually(DEADLINE, || {
        let mut health = health.clone();
        async move {
            (status(&mut health, "").await == ServingStatus::Serving as i32).then_some(())
        }
    })
    .await;
    assert!(
        serving.is_some(),
        "SERVING within {DEADLINE:?} of the migrations"
    );
    assert_health(health, ServingStatus::Serving).await;
}

/// Whether any worker claimed a job (a claim counts an attempt).
async fn claimed(db: &Database) -> bool {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM sync_jobs WHERE attempts > 0")
        .fetch_one(db.pool())
        .await
        .unwrap();
    row.get::<i64, _>("n") > 0
}

async fn stop(app: Application, shutdown: Shutdown) {
    shutdown.trigger();
    RunningServer::from(app).run_until_stopped().await.unwrap();
}

/// A fresh database (no table at all): NOT_SERVING; then the migrate Job runs: SERVING.
async fn unmigrated_database_waits_for_the_migrations(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let emulator = belvo_emulator::Emulator::start(belvo_emulator::Config::for_tests())
        .await
        .unwrap();
    let (app, shutdown, mut health) = start_unmigrated(&db, &emulator, fast_sync()).await;
    assert_health(&mut health, ServingStatus::NotServing).await;
    assert!(!app.readiness().is_ready());
    assert!(!db.schema_status(&MIGRATOR).await.unwrap().is_ready());

    // What `data-service migrate` (the Job) does, from outside the running service.
    db.migrate(&MIGRATOR).await.unwrap();
    wait_serving(&mut health).await;
    assert!(app.readiness().is_ready());
    stop(app, shutdown).await;
    emulator.shutdown().await;
}
both_backends!(
    unmigrated_database_is_not_serving_until_the_job_migrates_it,
    unmigrated_database_waits_for_the_migrations
);

/// A schema behind this build with a job queued (the previous release's database before the
/// Job recorded this release's migration): no worker claims it while NOT_SERVING; once the
/// migration is recorded, SERVING and the job is claimed, without a restart.
async fn no_job_is_claimed_before_the_schema_is_ready(backend: Backend) {
    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    db.migrate(&MIGRATOR).await.unwrap();
    // Take this build's migration record out, keeping it to put back as the Job would.
    let record = sqlx::query(
        "SELECT version, description, checksum, execution_time FROM _sqlx_migrations \
         WHERE success",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(db.pool())
        .await
        .unwrap();
    let resource = stored_resources(&["ACCOUNTS".to_owned()])[0];
    Store::new((*db).clone(), None)
        .enqueue_job(
            "7c9a1d2e-0000-4000-8000-000000000001",
            resource,
            JobMode::Full,
            belvo::Priority::Update,
            None,
            0,
        )
        .await
        .unwrap();

    let emulator = belvo_emulator::Emulator::start(belvo_emulator::Config::for_tests())
        .await
        .unwrap();
    let sync = SyncConfig {
        poll_interval: Duration::from_millis(20),
        ..fast_sync()
    };
    let (app, shutdown, mut health) = start_unmigrated(&db, &emulator, sync).await;
    assert_health(&mut health, ServingStatus::NotServing).await;
    // Many worker poll intervals (20 ms) pass: no claim. (Waiting for something that must
    // not happen: the deadline is the assertion.)
    let early = eventually(Duration::from_millis(500), || async {
        claimed(&db).await.then_some(())
    })
    .await;
    assert!(
        early.is_none(),
        "a job was claimed before the schema was ready"
    );
    assert!(!app.readiness().is_ready());
    assert_health(&mut health, ServingStatus::NotServing).await;

    // The Job records the migration; applying again is then a no-op that agrees.
    for row in record {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(row.get::<i64, _>("version"))
        .bind(row.get::<String, _>("description"))
        .bind(true)
        .bind(row.get::<Vec<u8>, _>("checksum"))
        .bind(row.get::<i64, _>("execution_time"))
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.migrate(&MIGRATOR).await.unwrap();
    wait_serving(&mut health).await;
    let worked = eventually(DEADLINE, || async { claimed(&db).await.then_some(()) }).await;
    assert!(worked.is_some(), "the queued job was claimed once ready");
    stop(app, shutdown).await;
    emulator.shutdown().await;
}
both_backends!(
    a_schema_behind_the_build_claims_no_job_until_migrated,
    no_job_is_claimed_before_the_schema_is_ready
);

/// Replicas that start together on a fresh PostgreSQL database all migrate it (one at a
/// time) and start: no deadlock between a `CREATE INDEX CONCURRENTLY` and the others waiting
/// for the migration lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_together_all_start() {
    let Some(db) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let opens = (0..3).map(|_| {
        let config = db.config();
        tokio::spawn(async move { Database::open(&config, &MIGRATOR).await })
    });
    for open in opens {
        let db = open
            .await
            .unwrap()
            .expect("every replica migrates and starts");
        let status = db.schema_status(&MIGRATOR).await.unwrap();
        assert!(status.is_ready(), "{status}");
    }
}
