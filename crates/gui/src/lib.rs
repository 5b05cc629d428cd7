//! `homestream gui [PATH]...`: the desktop window (eframe/egui) over the same engine and the
//! same `ServeConfig` as `homestream serve`.
//!
//! Rooms: [`settings`] (what the window remembers, TOML), [`plan`] (settings -> the server's
//! configuration), [`state`] (the window's rules, unit-tested without drawing), [`engine`]
//! (runs the server and the probes off the window's thread), [`views`] (drawing only),
//! [`log`] (the server's request lines into a bounded ring), [`netcheck`], [`preview`], [`qr`].
//! [`viewer`] is the other window: `homestream watch URL --show`.
//!
//! eframe opens X11 or Wayland and OpenGL at run time (it links none of them), so the same
//! binary runs on a headless server; without a display it says so and points to `serve`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod app;
pub mod engine;
pub mod log;
pub mod netcheck;
pub mod plan;
pub mod preview;
pub mod qr;
pub mod settings;
pub mod state;
pub mod users;
pub mod viewer;
mod views;

pub use app::GuiApp;
pub use eframe::egui;
pub use log::layer as log_layer;

use anyhow::anyhow;

use std::path::PathBuf;
use std::process::ExitCode;

/// `homestream gui [PATH]...`
#[derive(Debug, clap::Args)]
pub struct GuiArgs {
    /// Folders or files to share, added to the list the window remembers
    pub paths: Vec<PathBuf>,
}

/// What to say when there is no screen to open the window on.
pub const NO_DISPLAY: &str = "no display to open the window on (neither DISPLAY nor \
     WAYLAND_DISPLAY is set); share from the terminal instead: `homestream serve [PATH]...`";

/// Whether a window can be opened at all: on Linux and the BSDs an X11 or Wayland display must
/// be named in the environment; elsewhere there is always a desktop.
pub fn display_available() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    let set = |k| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// Opens the window and runs until it is closed; the server runs on `rt`. Closing the window
/// stops the server, releases camera and microphone and frees the port before returning.
pub fn run(args: GuiArgs, rt: tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    if !display_available() {
        return Err(anyhow!(NO_DISPLAY));
    }
    let path = settings::settings_path();
    let (mut settings, warning) = match &path {
        Some(p) => settings::Settings::load(p),
        None => (settings::Settings::default(), None),
    };
    // The command line's PATHs go first in the list; relative ones are made absolute, since
    // the list outlives this folder.
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut given: Vec<PathBuf> = args
        .paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p)))
        .collect();
    given.retain(|p| !settings.paths.contains(p));
    given.append(&mut settings.paths);
    settings.paths = given;
    let mut app = GuiApp::new(settings, path, netcheck::NetCheck::from_env(), rt);
    app.model.note = warning;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("homestream")
            .with_app_id("homestream")
            .with_inner_size([760.0, 720.0])
            .with_min_inner_size([420.0, 320.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "homestream",
        options,
        Box::new(move |_cc| Ok(Box::new(app))),
    )
    .map_err(|e| {
        anyhow!("cannot open the window ({e}); share from the terminal instead: `homestream serve [PATH]...`")
    })?;
    Ok(ExitCode::SUCCESS)
}
