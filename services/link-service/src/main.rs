//! The link-service binary: configuration, telemetry, [`link_service::Application`], run
//! until SIGTERM/SIGINT.

use std::process::ExitCode;

use link_service::{Application, Config, ENV_PREFIX};
use regions::RegionsConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = settings::exit_on_error(
        settings::Loader::new(ENV_PREFIX)
            .env(std::env::vars())
            .load(),
    );
    let regions = match RegionsConfig::from_process_env(config.regions_file.as_deref()) {
        Ok(regions) => regions,
        Err(err) => {
            // A CLI start-up failure: nothing is listening yet and telemetry is not up.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("link-service: invalid region configuration: {err}");
            }
            return ExitCode::from(2);
        }
    };
    let telemetry = match telemetry::init("link-service", &config.telemetry) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("link-service: cannot start telemetry: {err}");
            }
            return ExitCode::FAILURE;
        }
    };
    let code = match run(config, regions).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "link-service failed");
            ExitCode::FAILURE
        }
    };
    if let Err(err) = telemetry.shutdown() {
        tracing::warn!(error = %err, "telemetry flush failed");
    }
    code
}

async fn run(config: Config, regions: RegionsConfig) -> Result<(), link_service::StartError> {
    let shutdown = grpc_runtime::Shutdown::new();
    shutdown.listen_for_signals()?;
    let app = Application::build(config, regions, shutdown).await?;
    app.wait().await?;
    Ok(())
}
