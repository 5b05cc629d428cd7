//! `homestream funnel` and `homestream download`: the commands' edge.

use std::process::ExitCode;

/// Serve a remote video to a local player over many connections.
#[derive(Debug, clap::Args)]
pub struct FunnelArgs {
    /// Remote URL (http or https)
    pub url: String,
}

/// Download a remote file over many connections.
#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// Remote URL (http or https)
    pub url: String,
}

/// Runs `homestream funnel`.
pub async fn run_funnel(args: FunnelArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("funnel {} is not implemented yet", args.url)
}

/// Runs `homestream download`.
pub async fn run_download(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("download {} is not implemented yet", args.url)
}
