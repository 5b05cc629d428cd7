//! `homestream watch`: the command's edge, where errors become messages and exit codes.

use std::process::ExitCode;

/// Read an MJPEG stream and report on it.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// URL of a multipart/x-mixed-replace stream
    pub url: String,
}

/// Runs `homestream watch`.
pub async fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("watch {} is not implemented yet", args.url)
}
