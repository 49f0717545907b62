//! The gateway binary: configuration (`GATEWAY__...` variables and the file named by
//! `GATEWAY_CONFIG`), telemetry, the regions file, then the app until SIGTERM/SIGINT.

use std::process::ExitCode;

use gateway::config::ENV_PREFIX;
use gateway::{Application, GatewayConfig, Shutdown};

#[tokio::main]
// Deliberate start-up sites: before telemetry is up (or after it is gone) stderr is the only
// place an operator can read why the gateway stopped.
#[allow(clippy::print_stderr)]
async fn main() -> ExitCode {
    let config: GatewayConfig = settings::exit_on_error(
        settings::Loader::new(ENV_PREFIX)
            .list_key("cors.allowed_origins")
            .env(std::env::vars())
            .load(),
    );
    let telemetry = match telemetry::init("gateway", &config.telemetry) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("gateway: {err}");
            return ExitCode::from(2);
        }
    };
    let code = match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "gateway failed");
            ExitCode::FAILURE
        }
    };
    if let Err(err) = telemetry.shutdown() {
        eprintln!("gateway: {err}");
    }
    code
}

async fn run(config: GatewayConfig) -> Result<(), Box<dyn std::error::Error>> {
    let regions = regions::RegionsConfig::from_process_env(
        config.regions_file.as_deref(),
        regions::SecretsUsed::WebhookAuthorization,
    )?;
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals()?;
    let app = Application::build(config, regions, shutdown).await?;
    app.run_until_stopped().await?;
    Ok(())
}
