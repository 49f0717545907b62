//! Start-up as `main` does it: configuration from the environment, the regions file named
//! there, and the gRPC server with health and reflection.

use connect_proto::link::v1::{GetLinkRequest, link_service_client::LinkServiceClient};
use database::testing::TestDatabase;
use grpc_runtime::{Listeners, Service as _, ServiceConfig as _, Shutdown};
use link_service::Application;
use tonic::Code;

/// What `main` does: load the configuration and the regions, bind, build.
async fn start<const N: usize>(env: &[(&str, String); N]) -> grpc_runtime::RunningServer {
    let env: Vec<_> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let (config, regions) = grpc_runtime::load::<Application>(&env).unwrap();
    let (serve, admin) = config.listen_addrs();
    let listeners = Listeners::bind(serve, admin).await.unwrap();
    Application::build(config, regions, listeners, Shutdown::new())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_from_environment_and_a_regions_file() {
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("regions.toml");
    std::fs::write(&regions, regions::shipped::LOCAL).unwrap();
    let env = [
        (
            "LINK_SERVICE__SERVER__LISTEN_ADDR",
            "127.0.0.1:0".to_owned(),
        ),
        ("LINK_SERVICE__SERVER__ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("LINK_SERVICE__DATABASE__URL", db.url().to_owned()),
        ("LINK_SERVICE__REGIONS_FILE", regions.display().to_string()),
    ];
    let app = start(&env).await;
    assert_ne!(app.addr().port(), 0);

    let mut client = LinkServiceClient::connect(format!("http://{}", app.addr()))
        .await
        .unwrap();
    let err = client
        .get_link(GetLinkRequest {
            link_id: uuid::Uuid::new_v4().to_string(),
            owner: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let mut health = tonic_health::pb::health_client::HealthClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", app.addr()))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "connect.link.v1.LinkService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_missing_regions_file_stops_start_up() {
    let env = [(
        "LINK_SERVICE__REGIONS_FILE".to_owned(),
        "/nonexistent/regions.toml".to_owned(),
    )];
    let err = grpc_runtime::load::<Application>(&env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/regions.toml"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_bearer_tokens_are_enforced_when_configured() {
    const TOKEN: &str = "gateway-token-0123456789";
    let db = TestDatabase::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("regions.toml");
    std::fs::write(&regions, regions::shipped::LOCAL).unwrap();
    let env = [
        (
            "LINK_SERVICE__SERVER__LISTEN_ADDR",
            "127.0.0.1:0".to_owned(),
        ),
        ("LINK_SERVICE__SERVER__ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        (
            "LINK_SERVICE__SERVER__AUTH_TOKENS__GATEWAY",
            TOKEN.to_owned(),
        ),
        ("LINK_SERVICE__DATABASE__URL", db.url().to_owned()),
        ("LINK_SERVICE__REGIONS_FILE", regions.display().to_string()),
    ];
    let app = start(&env).await;
    let mut client = LinkServiceClient::connect(format!("http://{}", app.addr()))
        .await
        .unwrap();
    let request = || {
        tonic::Request::new(GetLinkRequest {
            link_id: uuid::Uuid::new_v4().to_string(),
            owner: "alice".to_owned(),
        })
    };
    let err = client.get_link(request()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut authorized = request();
    authorized
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let err = client.get_link(authorized).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "past authentication");
    app.stop().await.unwrap();
}

/// Readiness on the schema, as production starts it (`RUN_MIGRATIONS=false`: the migrate Job
/// owns the schema): NOT_SERVING on a database the Job has not migrated, then SERVING by
/// itself once it has, without a restart.
async fn not_serving_until_the_job_migrates(backend: database::Backend) {
    use tonic_health::pb::health_check_response::ServingStatus;

    let Some(db) = TestDatabase::new(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("regions.toml");
    std::fs::write(&regions, regions::shipped::LOCAL).unwrap();
    let env = [
        (
            "LINK_SERVICE__SERVER__LISTEN_ADDR",
            "127.0.0.1:0".to_owned(),
        ),
        ("LINK_SERVICE__SERVER__ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("LINK_SERVICE__DATABASE__URL", db.url().to_owned()),
        ("LINK_SERVICE__DATABASE__RUN_MIGRATIONS", "false".to_owned()),
        ("LINK_SERVICE__REGIONS_FILE", regions.display().to_string()),
    ];
    let app = start(&env).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        tonic::transport::Channel::from_shared(format!("http://{}", app.addr()))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let mut statuses = async || {
        let mut out = Vec::new();
        for service in ["", "connect.link.v1.LinkService"] {
            let request = tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            };
            out.push(health.check(request).await.unwrap().into_inner().status);
        }
        out
    };
    let not_serving = ServingStatus::NotServing as i32;
    assert_eq!(statuses().await, [not_serving, not_serving]);

    // What `link-service migrate` (the Job) does, from outside the running service.
    db.migrate(&link_service::MIGRATOR).await.unwrap();
    let serving = ServingStatus::Serving as i32;
    // Above the schema poll interval (2 s) with room for a slow machine.
    let deadline = std::time::Duration::from_secs(30);
    let until = std::time::Instant::now() + deadline;
    while statuses().await != [serving, serving] {
        assert!(
            std::time::Instant::now() < until,
            "not SERVING {deadline:?} after the migrations"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await.unwrap();
}

mod not_serving_until_the_job_migrates {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::not_serving_until_the_job_migrates(database::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::not_serving_until_the_job_migrates(database::Backend::Postgres).await;
    }
}
