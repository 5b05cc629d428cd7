//! `homestream user ...` and `homestream token ...`.

use std::process::ExitCode;

/// `homestream user`.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    /// add | list | remove
    pub action: String,
}

/// Runs `homestream user`.
pub fn run_user(args: UserArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("user {} is not implemented yet", args.action)
}
