//! The data-service binary: the shared service skeleton (`grpc_runtime::main`) runs
//! [`data_service::Application`]; `data-service migrate` applies the migrations and
//! exits.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    grpc_runtime::main::<data_service::Application>().await
}
