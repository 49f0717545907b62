//! The token-service binary: the shared service skeleton (`grpc_runtime::main`) runs
//! [`token_service::Application`]; `token-service migrate` applies the migrations and exits.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    grpc_runtime::main::<token_service::Application>().await
}
