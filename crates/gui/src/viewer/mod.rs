//! `homestream watch URL --show`: the MJPEG client's newest frame in a window titled with the
//! URL, with an overlay (fps received / shown, size, delay from `X-Timestamp`) and keys
//! (space pauses, `s` saves the frame shown, `f` full screen, `q`/Esc quits).
//!
//! Frames come from `homestream_mjpeg::Capture`, which holds only the newest frame; the window
//! decodes a frame only when it is about to show it ([`state::ViewerState::wants`]), so a slow
//! display skips frames and never lags behind.

pub mod state;

use eframe::egui::{self, Color32, RichText};
use homestream_mjpeg::Frame;
use state::{Action, Key, Shown, ViewerState};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Where the window gets the newest frame from (the capture, or a test's hand).
pub type Newest = Box<dyn FnMut() -> Option<Frame> + Send>;

/// The viewer window.
pub struct ViewerApp {
    /// Its rules.
    pub state: ViewerState,
    /// A close was asked for (a key, or `--duration` passed).
    pub closing: bool,
    newest: Newest,
    texture: Option<egui::TextureHandle>,
    /// The frame on screen, as received (what `s` saves).
    shown_jpeg: Option<(u64, bytes::Bytes)>,
    save_dir: PathBuf,
    /// Set when watching has stopped (`--duration`, `--frames`, the stream's end): close.
    finished: Option<Arc<AtomicBool>>,
    /// A test hook: each drawing takes this much longer (a slow display).
    slow: Duration,
}

impl ViewerApp {
    /// A window over `newest`; `s` saves into `save_dir`; it closes itself once `finished` is set.
    pub fn new(newest: Newest, save_dir: PathBuf, finished: Option<Arc<AtomicBool>>) -> ViewerApp {
        let slow = std::env::var("HOMESTREAM_SHOW_SLOW_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or_default();
        ViewerApp {
            state: ViewerState::default(),
            closing: false,
            newest,
            texture: None,
            shown_jpeg: None,
            save_dir,
            finished,
            slow,
        }
    }

    /// One frame of the window: keys, the newest frame, the picture and its overlay.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let now = Instant::now();
        for key in pressed(ui) {
            match self.state.key(key) {
                Action::Quit => self.closing = true,
                Action::ToggleFullscreen => ui
                    .ctx()
                    .send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.state.fullscreen)),
                Action::Save => self.save(),
                Action::TogglePause => {}
            }
        }
        if self
            .finished
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Acquire))
        {
            self.closing = true;
        }
        if self.closing {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(frame) = (self.newest)()
            && self.state.wants(frame.seq, now)
        {
            match homestream_codec::pixels::decode_jpeg(&frame.data) {
                Ok(rgb) => {
                    let image = egui::ColorImage::from_rgb([rgb.width, rgb.height], &rgb.data);
                    match &mut self.texture {
                        Some(t) => t.set(image, egui::TextureOptions::LINEAR),
                        None => {
                            self.texture = Some(ui.ctx().load_texture(
                                "frame",
                                image,
                                egui::TextureOptions::LINEAR,
                            ))
                        }
                    }
                    self.state.showed(
                        Shown {
                            seq: frame.seq,
                            width: rgb.width,
                            height: rgb.height,
                            delay: frame.delay(),
                        },
                        now,
                    );
                    self.shown_jpeg = Some((frame.seq, frame.data.clone()));
                }
                Err(e) => self.state.note = Some(format!("frame {} not decoded: {e}", frame.seq)),
            }
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE.fill(Color32::BLACK))
            .show(ui, |ui| {
                if let Some(t) = &self.texture {
                    let avail = ui.available_size();
                    let size = t.size_vec2();
                    let scale = (avail.x / size.x).min(avail.y / size.y);
                    ui.centered_and_justified(|ui| {
                        ui.add(egui::Image::new(t).fit_to_exact_size(size * scale));
                    });
                }
                let overlay = self.state.overlay(now);
                egui::Area::new(egui::Id::unique("overlay"))
                    .fixed_pos(ui.min_rect().min + egui::vec2(8.0, 8.0))
                    .show(ui.ctx(), |ui| {
                        egui::Frame::NONE
                            .fill(Color32::from_black_alpha(170))
                            .inner_margin(6.0)
                            .show(ui, |ui| {
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(overlay).color(Color32::WHITE).monospace(),
                                    )
                                    .extend(),
                                );
                            });
                    });
            });
        if !self.slow.is_zero() {
            std::thread::sleep(self.slow);
        }
        // Woken by each frame's arrival too (see `run`); this bounds the wait otherwise.
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }

    fn save(&mut self) {
        let Some((seq, jpeg)) = &self.shown_jpeg else {
            self.state.note = Some("nothing to save yet".into());
            return;
        };
        let path = self.save_dir.join(format!("shown-{seq:06}.jpg"));
        self.state.note = Some(match std::fs::write(&path, jpeg) {
            Ok(()) => format!("saved {}", path.display()),
            Err(e) => format!("cannot save {}: {e}", path.display()),
        });
    }
}

/// The window's keys pressed this frame.
fn pressed(ui: &egui::Ui) -> Vec<Key> {
    ui.input(|i| {
        [
            (egui::Key::Space, Key::Space),
            (egui::Key::S, Key::S),
            (egui::Key::F, Key::F),
            (egui::Key::Q, Key::Q),
            (egui::Key::Escape, Key::Escape),
        ]
        .into_iter()
        .filter(|(k, _)| i.key_pressed(*k))
        .map(|(_, k)| k)
        .collect()
    })
}

impl eframe::App for ViewerApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ViewerApp::ui(self, ui);
    }
}

/// What to say without a display.
pub const NO_DISPLAY: &str = "no display to show the stream on (neither DISPLAY nor \
     WAYLAND_DISPLAY is set); use `--save DIR` to keep the frames or `--json` for the numbers";

/// Runs `watch URL --show`: `watch` itself (every option: `--duration`, `--frames`,
/// `--snapshot`, `--save`, `--json`, auth, TLS, exit status) in a task, handing each frame to
/// a one-slot channel (queue policy: keep newest) that the window reads when it draws. The
/// window opens once the first frame has come, so a refused or failing connection exits as
/// `watch` does; closing the window stops watching (exit 0), and watching stopping closes it.
pub async fn run(args: homestream_mjpeg::cli::WatchArgs) -> anyhow::Result<std::process::ExitCode> {
    if !crate::display_available() {
        anyhow::bail!(NO_DISPLAY);
    }
    let title = homestream_mjpeg::client::redacted(&args.url);
    let save_dir = match &args.save {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let (tx, mut rx) = tokio::sync::watch::channel::<Option<Frame>>(None);
    let ctx: Arc<std::sync::OnceLock<egui::Context>> = Arc::default();
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let mut task = {
        let ctx = ctx.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            let wake = ctx.clone();
            let on_frame = move |f: &Frame| {
                tx.send_replace(Some(f.clone()));
                if let Some(c) = wake.get() {
                    c.request_repaint();
                }
            };
            let closed = async {
                let _ = close_rx.await;
            };
            let code = homestream_mjpeg::cli::run_with(args, on_frame, closed).await;
            finished.store(true, Ordering::Release);
            if let Some(c) = ctx.get() {
                c.request_repaint();
            }
            code
        })
    };
    // Nothing to show before the first frame: an error or an empty stream ends here, as `watch`.
    // (`changed` fails once the task has dropped the sender: it ended without a frame.)
    tokio::select! {
        r = &mut task => return r?,
        first = rx.changed() => if first.is_err() {
            return task.await?;
        }
    }
    let newest: Newest = Box::new(move || rx.borrow().clone());
    let app = ViewerApp::new(newest, save_dir, Some(finished));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(&title)
            .with_app_id("homestream-watch")
            .with_inner_size([960.0, 600.0]),
        ..Default::default()
    };
    let shown = tokio::task::block_in_place(|| {
        eframe::run_native(
            &title,
            options,
            Box::new(move |cc| {
                let _ = ctx.set(cc.egui_ctx.clone());
                Ok(Box::new(app))
            }),
        )
    });
    let _ = close_tx.send(());
    let code = task.await??;
    shown.map_err(|e| {
        anyhow::anyhow!("cannot open the window ({e}); use `--save DIR` or `--json` instead")
    })?;
    Ok(code)
}
