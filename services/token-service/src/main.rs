//! The token-service binary: load and validate the configuration (exit 2 with every
//! problem named before any port is bound), start telemetry, build the service, and run
//! until SIGTERM/SIGINT with the shared graceful shutdown (health NOT_SERVING, bounded
//! drain, pools closed, telemetry flushed last). `token-service migrate` only applies the
//! database migrations and exits.

use anyhow::Context as _;
use token_service::{Application, Config, MigrateConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return migrate().await;
    }
    let config = settings::exit_on_error(Config::load(std::env::vars()));
    let telemetry =
        telemetry::init("token-service", &config.telemetry).context("cannot start telemetry")?;
    let app = Application::build(config, std::env::vars())
        .await
        .context("cannot start token-service")?;
    app.shutdown()
        .listen_for_signals()
        .context("cannot listen for signals")?;
    let drained = app
        .run_until_stopped()
        .await
        .context("token-service failed")?;
    tracing::info!(?drained, "token-service stopped");
    telemetry.shutdown().context("cannot flush telemetry")?;
    Ok(())
}

/// `token-service migrate`: apply the migrations and exit (Kubernetes' migration Job). It
/// reads only the database and telemetry settings.
async fn migrate() -> anyhow::Result<()> {
    let config = settings::exit_on_error(
        settings::Loader::new(token_service::ENV_PREFIX)
            .env(std::env::vars())
            .load::<MigrateConfig>(),
    );
    let telemetry =
        telemetry::init("token-service", &config.telemetry).context("cannot start telemetry")?;
    let db = database::Database::connect(&config.database)
        .await
        .context("cannot connect to the database")?;
    db.migrate(&token_service::MIGRATOR)
        .await
        .context("migrations failed")?;
    db.close().await;
    tracing::info!("migrations applied");
    telemetry.shutdown().context("cannot flush telemetry")?;
    Ok(())
}
