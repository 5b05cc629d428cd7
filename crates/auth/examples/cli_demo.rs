//! How the `homestream` binary embeds the account commands (and a way to run them before it
//! does): `cargo run -p homestream-auth --example cli_demo -- user add alice`.

use std::process::ExitCode;

use clap::Parser;
use homestream_auth::cli::{TokenCommand, UserCommand, run_token, run_user};

#[derive(Debug, Parser)]
#[command(name = "homestream")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Manage accounts (login is on with `serve --auth FILE`).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for players and scripts (`Authorization: Bearer`).
    #[command(subcommand)]
    Token(TokenCommand),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::User(c) => run_user(c),
        Command::Token(c) => run_token(c),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
