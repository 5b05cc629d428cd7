//! `homestream watch` without the rest of the binary: the same `WatchArgs` and `run`, embedded
//! the way the `homestream` binary embeds them (`Watch(homestream_mjpeg::cli::WatchArgs)`).
//!
//! `cargo run -p homestream-mjpeg --example watch -- watch http://127.0.0.1:8000/live/demo/stream.mjpg --duration 5`

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "homestream")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read an MJPEG stream and report on it
    Watch(homestream_mjpeg::cli::WatchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber_init();
    let Command::Watch(args) = Cli::parse().command;
    match homestream_mjpeg::cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("homestream watch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// No subscriber crate here: tracing events are dropped, as in a quiet CLI run.
fn tracing_subscriber_init() {}
