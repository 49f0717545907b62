//! Runs data-service: configuration (`DATA_SERVICE__…`, file from `DATA_SERVICE_CONFIG`),
//! telemetry, the regions file, then the service until SIGTERM/SIGINT. `data-service migrate`
//! only applies the database migrations and exits (Kubernetes' migration Job).

use data_service::app::App;
use data_service::belvo_clients::BelvoClients;
use data_service::config::Config;
use grpc_runtime::Shutdown;
use regions::{RegionsConfig, SecretsUsed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = settings::exit_on_error(
        settings::Loader::new("DATA_SERVICE")
            .env(std::env::vars())
            .load(),
    );
    let telemetry = telemetry::init("data-service", &config.telemetry)?;
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        let db = database::Database::connect(&config.database).await?;
        db.migrate(&data_service::app::MIGRATOR).await?;
        db.close().await;
        tracing::info!("migrations applied");
        telemetry.shutdown()?;
        return Ok(());
    }
    let regions = match RegionsConfig::from_process_env(
        config.regions_file.as_deref(),
        SecretsUsed::BelvoKeys,
    ) {
        Ok(regions) => regions,
        Err(e) => {
            tracing::error!(error = %e, "invalid regions configuration");
            std::process::exit(2);
        }
    };
    let belvo = BelvoClients::from_regions(&regions)?;
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals()?;
    let app = App::build(&config, belvo, shutdown).await?;
    tracing::info!(grpc = %app.grpc_addr(), admin = %app.admin_addr(), "data-service listening");
    let result = app.wait().await;
    telemetry.shutdown()?;
    Ok(result?)
}
