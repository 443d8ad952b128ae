//! `kefu`: the customer-service back office of 三国小助手.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = server::config::Cli::parse();
    server::telemetry::init(&cli.log);
    match server::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("kefu: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
