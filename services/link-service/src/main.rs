//! The link-service binary: load and validate the configuration (exit 2 with every
//! problem named before any port is bound), start telemetry, build the service, and run
//! until SIGTERM/SIGINT with the shared graceful shutdown (health NOT_SERVING, bounded
//! drain, pool closed, telemetry flushed last). `link-service migrate` only applies the database
//! migrations and exits.

use anyhow::Context as _;
use link_service::{Application, Config, ENV_PREFIX};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::exit_on_error(
        settings::Loader::new(ENV_PREFIX)
            .env(std::env::vars())
            .load(),
    );
    let telemetry =
        telemetry::init("link-service", &config.telemetry).context("cannot start telemetry")?;
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        // `link-service migrate`: apply the migrations and exit (Kubernetes' migration Job).
        let db = database::Database::connect(&config.database)
            .await
            .context("cannot connect to the database")?;
        db.migrate(&link_service::MIGRATOR)
            .await
            .context("migrations failed")?;
        db.close().await;
        tracing::info!("migrations applied");
        telemetry.shutdown().context("cannot flush telemetry")?;
        return Ok(());
    }
    let app = Application::build(config, std::env::vars())
        .await
        .context("cannot start link-service")?;
    app.shutdown()
        .listen_for_signals()
        .context("cannot listen for signals")?;
    let drained = app
        .run_until_stopped()
        .await
        .context("link-service failed")?;
    tracing::info!(?drained, "link-service stopped");
    telemetry.shutdown().context("cannot flush telemetry")?;
    Ok(())
}
