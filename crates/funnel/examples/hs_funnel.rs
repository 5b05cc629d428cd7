//! Stand-alone driver for the funnel commands (same arguments as `homestream funnel|download`),
//! used by bench/funnel/run.sh until and besides the main binary.
use clap::Parser;
use homestream_funnel::cli::{DownloadArgs, FunnelArgs, run_download, run_funnel};
use std::process::ExitCode;

#[derive(Parser)]
enum Cmd {
    Funnel(FunnelArgs),
    Download(DownloadArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let r = match Cmd::parse() {
        Cmd::Funnel(a) => run_funnel(a).await,
        Cmd::Download(a) => run_download(a).await,
    };
    match r {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
