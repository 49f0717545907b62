//! The one service skeleton. Every service (token-, link-, data-service and the gateway)
//! implements [`Service`]: it is built by `Application::build(config, regions, listeners,
//! shutdown)` from its typed configuration, the loaded regions, listeners bound beforehand and
//! a shutdown trigger, and it hands back the [`RunningServer`] everything else goes through
//! (addresses, health, stop, run until stopped). [`service_config!`] implements
//! [`ServiceConfig`] for the conventional configuration fields, and [`StartError`] is what
//! stops any of them from starting. [`main`] is the whole of every binary: load
//! the configuration and the regions, start telemetry, bind, build, run until SIGTERM/SIGINT,
//! flush telemetry; or, as `<service> migrate`, apply the migrations and exit; or, as
//! `<service> wait-for-schema` (a Kubernetes init container), wait until the schema is at the
//! version the binary was built with (the migrate Job ran) and exit.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use database::{Database, DatabaseConfig};
use regions::{RegionsConfig, SecretsUsed};
use serde::Serialize;
use serde::de::DeserializeOwned;
use settings::{Report, Validate};
use telemetry::TelemetryConfig;

use crate::{Listeners, RunningServer, ServerError, Shutdown};

/// What the skeleton reads of every service's configuration.
pub trait ServiceConfig:
    Serialize + DeserializeOwned + Default + Validate + Send + Sync + 'static
{
    /// The address to serve on and the admin (`/metrics`) address.
    fn listen_addrs(&self) -> (SocketAddr, SocketAddr);
    /// Logs and traces.
    fn telemetry(&self) -> &TelemetryConfig;
    /// The regions file; unset: `$REGIONS_FILE`.
    fn regions_file(&self) -> Option<&Path>;
    /// The service's own database, if it has one.
    fn database(&self) -> Option<&DatabaseConfig> {
        None
    }
}

/// A service's configuration with the conventional sections. Given a struct of the
/// service's own fields, declares it with `server`, `telemetry`, `database` and
/// `regions_file` first (serde: unknown keys refused, missing ones from `Default`, which the
/// service writes), implements [`ServiceConfig`], and adds `report_conventional`, which
/// validates those sections. Given only a type (`no_database`), implements [`ServiceConfig`]
/// for a configuration that has the fields itself but no `database` (the gateway).
#[macro_export]
macro_rules! service_config {
    (
        $(#[$meta:meta])*
        pub struct $config:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $config {
            /// gRPC and admin listeners, timeouts, internal callers' bearer tokens
            /// (`<PREFIX>__SERVER__AUTH_TOKENS__<CALLER>`).
            pub server: $crate::ServerConfig,
            /// Logs and traces.
            pub telemetry: $crate::macro_support::TelemetryConfig,
            /// The service's own database (`sqlite:` or `postgres:` URL).
            pub database: $crate::macro_support::DatabaseConfig,
            /// The regions file (`libs/regions`). Unset: `$REGIONS_FILE`.
            pub regions_file: ::std::option::Option<::std::path::PathBuf>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        $crate::service_config!(@impl $config, |config| Some(&config.database));

        impl $config {
            /// Validates the conventional sections: `server`, `telemetry` and `database`.
            fn report_conventional(&self, report: &mut $crate::macro_support::Report) {
                report.section("server", &self.server);
                report.section("telemetry", &self.telemetry);
                report.section("database", &self.database);
            }
        }
    };
    ($config:ty, no_database) => {
        $crate::service_config!(@impl $config, |_config| None);
    };
    (@impl $config:ty, |$this:ident| $database:expr) => {
        impl $crate::ServiceConfig for $config {
            fn listen_addrs(&self) -> (::std::net::SocketAddr, ::std::net::SocketAddr) {
                (self.server.listen_addr, self.server.admin_addr)
            }
            fn telemetry(&self) -> &$crate::macro_support::TelemetryConfig {
                &self.telemetry
            }
            fn regions_file(&self) -> Option<&::std::path::Path> {
                self.regions_file.as_deref()
            }
            fn database(&self) -> Option<&$crate::macro_support::DatabaseConfig> {
                let $this = self;
                $database
            }
        }
    };
}

/// A service of the platform: its name, what it reads, and how it is built.
pub trait Service: Sized + Send + 'static {
    /// The binary's name (`token-service`), for logs and traces; its environment variables
    /// are prefixed with it in upper snake case (`TOKEN_SERVICE__…`).
    const NAME: &'static str;
    /// Which regional secrets it resolves (see [`SecretsUsed`]): by default Belvo's API keys.
    const SECRETS: SecretsUsed = SecretsUsed::BelvoKeys;
    /// Configuration keys given in the environment as comma-separated lists.
    const LIST_KEYS: &'static [&'static str] = &[];
    /// Its migrations, applied by `<service> migrate`, if it has a database.
    const MIGRATOR: Option<&'static sqlx::migrate::Migrator> = None;
    /// Its configuration.
    type Config: ServiceConfig;
    /// What can stop it from starting.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The running service: its [`RunningServer`], or a type that also exposes internals
    /// to tests and converts into it.
    type Running: Into<RunningServer> + Send;

    /// Builds and starts the service on `listeners`; it stops when `shutdown` fires.
    fn build(
        config: Self::Config,
        regions: RegionsConfig,
        listeners: Listeners,
        shutdown: Shutdown,
    ) -> impl Future<Output = Result<Self::Running, Self::Error>> + Send;

    /// The prefix of its environment variables (`TOKEN_SERVICE`).
    fn env_prefix() -> String {
        Self::NAME.to_ascii_uppercase().replace('-', "_")
    }
}

/// What can stop a service from starting, whichever it is.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Its database cannot be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] database::DatabaseError),
    /// A client of another service cannot be built.
    #[error("service client: {0}")]
    Client(#[from] crate::client::ClientError),
    /// Its metrics cannot be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The gRPC or admin server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A dependency of its own cannot be set up (a Belvo client, say).
    #[error(transparent)]
    Setup(Box<dyn std::error::Error + Send + Sync>),
}

/// Loads a service's configuration from defaults, its optional file and `env`, and its
/// regions (the file the configuration names, else `$REGIONS_FILE`, with the overrides and
/// secrets of `env`), reporting every problem of both at once.
pub fn load<S: Service>(
    env: &[(String, String)],
) -> Result<(S::Config, RegionsConfig), settings::SettingsError> {
    RegionsConfig::load_alongside(
        &loader::<S>(env),
        |config: &S::Config| config.regions_file().map(Path::to_path_buf),
        env.iter().cloned(),
        S::SECRETS,
    )
}

/// Loads only the service's own configuration (no regions), as [`load`] does.
pub fn load_config<S: Service>(
    env: &[(String, String)],
) -> Result<S::Config, settings::SettingsError> {
    loader::<S>(env).load()
}

fn loader<S: Service>(env: &[(String, String)]) -> settings::Loader {
    let mut loader = settings::Loader::new(&S::env_prefix()).env(env.iter().cloned());
    for key in S::LIST_KEYS {
        loader = loader.list_key(key);
    }
    loader
}

/// What `<service> migrate` reads: the database and telemetry sections only, so the
/// migration Job is given none of the service's secrets.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrateConfig {
    /// The database to migrate.
    pub database: DatabaseConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
}

impl Validate for MigrateConfig {
    fn validate(&self, report: &mut Report) {
        report.section("database", &self.database);
        report.section("telemetry", &self.telemetry);
    }
}

impl MigrateConfig {
    /// Loads it from `env` over the defaults of the service's own configuration.
    pub fn load<S: Service>(env: &[(String, String)]) -> Result<Self, settings::SettingsError> {
        let defaults = S::Config::default();
        let defaults = Self {
            database: defaults.database().cloned().unwrap_or_default(),
            telemetry: defaults.telemetry().clone(),
        };
        loader::<S>(env).load_over(&defaults)
    }
}

/// The whole of a service's `main`: configuration and regions (exit 2 naming every
/// problem, before any port is bound), telemetry, listeners, the service until
/// SIGTERM/SIGINT (health NOT_SERVING, bounded drain, resources closed), telemetry flushed
/// last. `<service> migrate` applies the migrations and exits; `<service> wait-for-schema`
/// waits until they have been applied (by the migrate Job) and exits.
pub async fn main<S: Service>() -> ExitCode {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let result = match std::env::args().nth(1).as_deref() {
        Some("migrate") => migrate::<S>(&env).await,
        Some("wait-for-schema") => wait_for_schema::<S>(&env).await,
        _ => run::<S>(&env).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(err)) => {
            report_to_stderr::<S>(&*err);
            ExitCode::from(2)
        }
        Err(Failure::Run(err)) => {
            tracing::error!(error = %err, "{} failed", S::NAME);
            report_to_stderr::<S>(&*err);
            ExitCode::FAILURE
        }
    }
}

impl From<ServerError> for Failure {
    fn from(err: ServerError) -> Self {
        Self::Run(err.into())
    }
}

/// Why `main` stopped.
enum Failure {
    /// The configuration (or regions) is invalid: nothing was started.
    Config(Box<dyn std::error::Error>),
    /// Starting or running failed.
    Run(Box<dyn std::error::Error>),
}

// A deliberate start-up site: before telemetry is up (or after it is gone) stderr is the
// only place an operator can read why the service stopped.
#[allow(clippy::print_stderr)]
fn report_to_stderr<S: Service>(err: &dyn std::error::Error) {
    eprintln!("{}: {err}", S::NAME);
}

async fn run<S: Service>(env: &[(String, String)]) -> Result<(), Failure> {
    let (config, regions) = load::<S>(env).map_err(|e| Failure::Config(e.into()))?;
    let telemetry =
        telemetry::init(S::NAME, config.telemetry()).map_err(|e| Failure::Config(e.into()))?;
    let result = async {
        let (serve, admin) = config.listen_addrs();
        let listeners = Listeners::bind(serve, admin).await?;
        let shutdown = Shutdown::new();
        shutdown.listen_for_signals()?;
        let app: RunningServer = S::build(config, regions, listeners, shutdown)
            .await
            .map_err(|e| Failure::Run(e.into()))?
            .into();
        tracing::info!(addr = %app.addr(), admin = %app.admin_addr(), "{} started", S::NAME);
        let drained = app.run_until_stopped().await?;
        tracing::info!(?drained, "{} stopped", S::NAME);
        Ok(())
    }
    .await;
    flush(telemetry);
    result
}

async fn migrate<S: Service>(env: &[(String, String)]) -> Result<(), Failure> {
    let config = MigrateConfig::load::<S>(env).map_err(|e| Failure::Config(e.into()))?;
    let telemetry =
        telemetry::init(S::NAME, &config.telemetry).map_err(|e| Failure::Config(e.into()))?;
    let result = async {
        let Some(migrator) = S::MIGRATOR else {
            tracing::info!("{} has no database: nothing to migrate", S::NAME);
            return Ok(());
        };
        let db = Database::open(
            &DatabaseConfig {
                run_migrations: true,
                ..config.database.clone()
            },
            migrator,
        )
        .await?;
        db.close().await;
        tracing::info!("migrations applied");
        Ok::<_, database::DatabaseError>(())
    }
    .await;
    flush(telemetry);
    result.map_err(|e| Failure::Run(e.into()))
}

/// `<service> wait-for-schema`: reads what `migrate` reads, connects without migrating, and
/// returns once the schema is at the version this binary was built with or newer, polling
/// every [`SCHEMA_POLL_INTERVAL`](crate::readiness::SCHEMA_POLL_INTERVAL) and logging only
/// when what it sees changes. SIGTERM/SIGINT ends the wait with an error.
async fn wait_for_schema<S: Service>(env: &[(String, String)]) -> Result<(), Failure> {
    let config = MigrateConfig::load::<S>(env).map_err(|e| Failure::Config(e.into()))?;
    let telemetry =
        telemetry::init(S::NAME, &config.telemetry).map_err(|e| Failure::Config(e.into()))?;
    let result = async {
        let Some(migrator) = S::MIGRATOR else {
            tracing::info!("{} has no database: no schema to wait for", S::NAME);
            return Ok(());
        };
        let shutdown = Shutdown::new();
        shutdown.listen_for_signals()?;
        let db = Database::connect(&config.database).await?;
        let ready = crate::Readiness::schema(&db, migrator, shutdown.clone())
            .await
            .wait(&shutdown)
            .await;
        db.close().await;
        if ready {
            Ok(())
        } else {
            Err(Failure::Run(
                "stopped before the schema was migrated".into(),
            ))
        }
    }
    .await;
    flush(telemetry);
    result
}

impl From<database::DatabaseError> for Failure {
    fn from(err: database::DatabaseError) -> Self {
        Self::Run(err.into())
    }
}

fn flush(telemetry: telemetry::Telemetry) {
    if let Err(err) = telemetry.shutdown() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("cannot flush telemetry: {err}");
        }
    }
}
