//! The link-service binary: the shared service skeleton (`grpc_runtime::main`) runs
//! [`link_service::Application`]; `link-service migrate` applies the migrations and exits.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    grpc_runtime::main::<link_service::Application>().await
}
