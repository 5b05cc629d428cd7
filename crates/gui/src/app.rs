//! The window's app: the [`Model`], the [`Engine`] that serves, and the few bits of state that
//! only the drawing needs (text being typed, open dialogs, the preview's texture).
//! `logic` runs every frame and moves events and timers along; `ui` (in `views`) only draws
//! and turns clicks into calls on the model.

use crate::engine::Engine;
use crate::log::LogRing;
use crate::netcheck::NetCheck;
use crate::settings::Settings;
use crate::state::{Command, Model};
use eframe::egui;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

/// What a background helper (file dialog, adding a user) hands back.
pub(crate) enum Pending {
    /// Paths chosen in a dialog (empty when cancelled).
    Paths(Receiver<Vec<PathBuf>>),
    /// The users file chosen.
    UsersFile(Receiver<Option<PathBuf>>),
    /// The outcome of `user add`.
    User(Receiver<Result<String, String>>),
}

/// The desktop window.
pub struct GuiApp {
    /// State and rules.
    pub model: Model,
    /// The server.
    pub engine: Engine,
    /// Where settings are saved (`None`: not saved).
    pub settings_path: Option<PathBuf>,
    pub(crate) log: Arc<LogRing>,
    pub(crate) path_text: String,
    pub(crate) port_text: String,
    pub(crate) user_name: String,
    pub(crate) user_password: String,
    pub(crate) pending: Vec<Pending>,
    pub(crate) preview_texture: Option<(u64, egui::TextureHandle)>,
    pub(crate) lan: Vec<String>,
    started: bool,
}

impl GuiApp {
    /// A window over `settings`; the server runs on `rt`.
    pub fn new(
        settings: Settings,
        settings_path: Option<PathBuf>,
        net_check: NetCheck,
        rt: tokio::runtime::Handle,
    ) -> GuiApp {
        let port_text = settings.port.map(|p| p.to_string()).unwrap_or_default();
        let lan = homestream_server::lan_urls(([0, 0, 0, 0], 0).into(), "http")
            .into_iter()
            .filter_map(|u| {
                let host = u.strip_prefix("http://")?.rsplit_once(':')?.0.to_string();
                (host != "127.0.0.1").then_some(host)
            })
            .collect();
        GuiApp {
            model: Model::new(settings, net_check),
            engine: Engine::new(rt),
            settings_path,
            log: LogRing::global(),
            path_text: String::new(),
            port_text,
            user_name: String::new(),
            user_password: String::new(),
            pending: Vec::new(),
            preview_texture: None,
            lan,
            started: false,
        }
    }

    /// Every frame, before drawing: engine events, timers, dropped files, dialogs.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if !self.started {
            self.started = true;
            self.engine.set_repaint(ctx.clone());
            self.log.set_repaint(ctx.clone());
            let cmds = self.model.refresh_devices();
            self.dispatch(cmds);
        }
        for e in self.engine.poll() {
            self.model.apply(e);
        }
        let (cmds, wake) = self.model.tick(Instant::now());
        self.dispatch(cmds);
        ctx.request_repaint_after(wake);
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() && self.model.editable() {
            for p in dropped {
                self.model.settings.add_path(p);
            }
        }
        self.poll_pending();
    }

    /// Draws the window (every frame, after [`GuiApp::logic`]).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        crate::views::show(ui, self);
    }

    /// Hands the model's commands to the engine (saving settings is done here).
    pub fn dispatch(&mut self, cmds: Vec<Command>) {
        for c in cmds {
            match c {
                Command::SaveSettings => self.save_settings(),
                other => self.engine.run(other),
            }
        }
    }

    /// The button was pressed (the port being typed is read first).
    pub fn press(&mut self) {
        if self.model.editable() {
            match crate::state::parse_port(&self.port_text) {
                Ok(p) => self.model.settings.port = p,
                Err(e) => {
                    self.model.error = Some(e);
                    return;
                }
            }
        }
        let cmds = self.model.press();
        if matches!(cmds.first(), Some(Command::Stop)) {
            self.preview_texture = None;
        }
        self.dispatch(cmds);
    }

    /// Writes the settings file, saying so in the window when it cannot.
    pub fn save_settings(&mut self) {
        if let Some(path) = &self.settings_path
            && let Err(e) = self.model.settings.save(path)
        {
            self.model.note = Some(format!("settings not saved: {e}"));
        }
    }

    /// Closing the window: save, stop the server, release the devices.
    pub fn on_close(&mut self) {
        tracing::info!("window closed: stopping");
        self.save_settings();
        self.engine.shutdown_blocking();
        tracing::info!("stopped");
    }

    fn poll_pending(&mut self) {
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            match p {
                Pending::Paths(rx) => match rx.try_recv() {
                    Ok(paths) => {
                        for p in paths {
                            self.model.settings.add_path(p);
                        }
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => keep.push(Pending::Paths(rx)),
                    Err(_) => {}
                },
                Pending::UsersFile(rx) => match rx.try_recv() {
                    Ok(Some(p)) => self.model.settings.users_file = Some(p),
                    Ok(None) => {}
                    Err(std::sync::mpsc::TryRecvError::Empty) => keep.push(Pending::UsersFile(rx)),
                    Err(_) => {}
                },
                Pending::User(rx) => match rx.try_recv() {
                    Ok(Ok(msg)) => {
                        self.model.error = None;
                        self.model.note = Some(msg);
                    }
                    Ok(Err(e)) => self.model.error = Some(e),
                    Err(std::sync::mpsc::TryRecvError::Empty) => keep.push(Pending::User(rx)),
                    Err(_) => {}
                },
            }
        }
        self.pending = keep;
    }

    /// Opens the platform's file dialog on a thread (it blocks while open).
    pub(crate) fn pick_paths(&mut self, folder: bool, ctx: &egui::Context) {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let d = rfd::FileDialog::new().set_title("Share with homestream");
                let picked = if folder {
                    d.pick_folders()
                } else {
                    d.pick_files()
                };
                let _ = tx.send(picked.unwrap_or_default());
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.pending.push(Pending::Paths(rx)),
            Err(e) => self.model.error = Some(format!("cannot open the file dialog: {e}")),
        }
    }

    /// The users file, chosen in a dialog.
    pub(crate) fn pick_users_file(&mut self, ctx: &egui::Context) {
        let (tx, rx) = channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let picked = rfd::FileDialog::new()
                    .set_title("Users file")
                    .add_filter("users file", &["toml"])
                    .save_file();
                let _ = tx.send(picked);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.pending.push(Pending::UsersFile(rx)),
            Err(e) => self.model.error = Some(format!("cannot open the file dialog: {e}")),
        }
    }

    /// `homestream user add NAME` into the users file in effect, on a thread (hashing takes a
    /// moment by design).
    pub(crate) fn add_user(&mut self) {
        let Some(path) = self.model.settings.users_file_or_default() else {
            self.model.error = Some("choose a users file first".into());
            return;
        };
        let name = self.user_name.trim().to_string();
        let password = std::mem::take(&mut self.user_password);
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("add-user".into())
            .spawn(move || {
                let _ = tx.send(crate::users::add(&name, &password, &path));
            });
        match spawned {
            Ok(_) => self.pending.push(Pending::User(rx)),
            Err(e) => self.model.error = Some(format!("cannot add the user: {e}")),
        }
    }
}

impl eframe::App for GuiApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        GuiApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        GuiApp::ui(self, ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.on_close();
    }
}
