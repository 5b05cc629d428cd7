//! `homestream`: stream video from this computer to any browser or player.
//!
//! The binary only parses the command line and wires the crates together; each subcommand's
//! work lives in the crate of its capability.

mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "homestream", version, about, long_about = None)]
#[command(
    after_help = "With no command, serves the current folder and a live test stream \"demo\"."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Share folders of videos and live streams on the network
    Serve(serve::ServeArgs),
    /// Read an MJPEG stream: stats, frames to files, snapshots
    Watch(homestream_mjpeg::cli::WatchArgs),
    /// Play a throttled remote video through many parallel connections
    Funnel(homestream_funnel::cli::FunnelArgs),
    /// Download a remote file through many parallel connections
    Download(homestream_funnel::cli::DownloadArgs),
    /// List cameras and microphones
    Devices {
        /// One JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Manage the accounts of the users file
    #[command(subcommand)]
    User(homestream_auth::cli::UserCommand),
    /// Manage API tokens (for players and scripts: `Authorization: Bearer`)
    #[command(subcommand)]
    Token(homestream_auth::cli::TokenCommand),
    /// The desktop window: share folders, go live, see the URLs, QR code and requests
    Gui(GuiArgs),
}

#[cfg(feature = "gui")]
use homestream_gui::GuiArgs;

/// A build without the window still parses `gui [PATH]...`, to say so.
#[cfg(not(feature = "gui"))]
#[derive(clap::Args)]
struct GuiArgs {
    /// Folders or files to share
    paths: Vec<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Some(Command::Gui(_))));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("homestream: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            None => serve::run(serve::ServeArgs::default_demo()).await,
            Some(Command::Serve(args)) => serve::run(args).await,
            #[cfg(feature = "gui")]
            Some(Command::Watch(args)) if args.show => homestream_gui::viewer::run(args).await,
            #[cfg(not(feature = "gui"))]
            Some(Command::Watch(args)) if args.show => Err(anyhow::anyhow!(
                "this build has no windows (built without the `gui` feature); \
                 use `--save DIR` or `--json`"
            )),
            Some(Command::Watch(args)) => homestream_mjpeg::cli::run(args).await,
            Some(Command::Funnel(args)) => homestream_funnel::cli::run_funnel(args).await,
            Some(Command::Download(args)) => homestream_funnel::cli::run_download(args).await,
            Some(Command::Devices { json }) => homestream_live::cli::run_devices(json),
            Some(Command::User(cmd)) => homestream_auth::cli::run_user(cmd),
            Some(Command::Token(cmd)) => homestream_auth::cli::run_token(cmd),
            // The window runs on this (main) thread; the server on the runtime's workers.
            #[cfg(feature = "gui")]
            Some(Command::Gui(args)) => {
                homestream_gui::run(args, tokio::runtime::Handle::current())
            }
            #[cfg(not(feature = "gui"))]
            Some(Command::Gui(_)) => Err(anyhow::anyhow!(
                "this build has no desktop window (built without the `gui` feature); \
                 use `homestream serve [PATH]...`"
            )),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("homestream: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (one line per request and stream event); `RUST_LOG` overrides the level.
/// The certificate verifier logs every refusal as an error of its own; the command that met
/// it says what happened and what to do, once. The window (`gui`) also shows the request
/// lines, whatever `RUST_LOG` says.
#[cfg_attr(not(feature = "gui"), allow(unused_variables))]
fn init_logging(window: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,rustls_platform_verifier=off")
    });
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(filter);
    #[cfg(feature = "gui")]
    let window = window.then(homestream_gui::log_layer);
    #[cfg(not(feature = "gui"))]
    let window: Option<tracing_subscriber::layer::Identity> = None;
    tracing_subscriber::registry()
        .with(terminal)
        .with(window)
        .init();
}
