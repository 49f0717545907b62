//! The gateway binary: the shared service skeleton (`grpc_runtime::main`) runs
//! [`gateway::Application`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    grpc_runtime::main::<gateway::Application>().await
}
