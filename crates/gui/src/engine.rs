//! The I/O shell around [`crate::state::Model`]: carries out its commands on the server's tokio
//! runtime or on short-lived threads, and hands back events. Nothing here blocks the window:
//! starting, stopping, probing devices and checking the network all report through a channel
//! and wake the window with `request_repaint`.
//!
//! The server is `homestream_server::start`, the one `homestream serve` runs.

use crate::plan::STREAM;
use crate::preview::Preview;
use crate::state::{Command, DeviceList, Event, RunInfo, StreamLine};
use eframe::egui;
use homestream_server::Server;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long closing the window waits for the server to stop.
const EXIT_WAIT: Duration = Duration::from_secs(8);

/// Runs the window's commands.
pub struct Engine {
    rt: tokio::runtime::Handle,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    /// The running server; filled before `Started` is sent, so a Stop always finds it.
    server: Arc<Mutex<Option<Server>>>,
    /// The start or stop in flight.
    pending: Option<tokio::task::JoinHandle<()>>,
    /// The live preview, while running.
    pub preview: Arc<Mutex<Option<Preview>>>,
    repaint: Option<egui::Context>,
}

impl Engine {
    /// An engine spawning on `rt` (the binary's runtime).
    pub fn new(rt: tokio::runtime::Handle) -> Engine {
        let (tx, rx) = channel();
        Engine {
            rt,
            tx,
            rx,
            server: Arc::new(Mutex::new(None)),
            pending: None,
            preview: Arc::new(Mutex::new(None)),
            repaint: None,
        }
    }

    /// Wakes `ctx` whenever an event arrives.
    pub fn set_repaint(&mut self, ctx: egui::Context) {
        self.repaint = Some(ctx);
    }

    /// Events that arrived since the last call.
    pub fn poll(&mut self) -> Vec<Event> {
        self.rx.try_iter().collect()
    }

    /// Carries out one command (SaveSettings is the app's, not the engine's).
    pub fn run(&mut self, cmd: Command) {
        let tx = Waker {
            tx: self.tx.clone(),
            ctx: self.repaint.clone(),
        };
        match cmd {
            Command::Start { config, preview } => {
                let slot = self.server.clone();
                let preview_slot = self.preview.clone();
                let ctx = self.repaint.clone();
                self.pending = Some(self.rt.spawn(async move {
                    match homestream_server::start(*config).await {
                        Ok(server) => {
                            let info = run_info(&server);
                            if preview && let Some(stream) = server.state.live.stream(STREAM) {
                                *lock(&preview_slot) = Some(Preview::start(stream.clone(), ctx));
                            }
                            *lock(&slot) = Some(server);
                            tx.send(Event::Started(info));
                        }
                        Err(e) => tx.send(Event::StartFailed(e.to_string())),
                    }
                }));
            }
            Command::Stop => {
                // The preview goes first: it holds the source open.
                lock(&self.preview).take();
                let server = lock(&self.server).take();
                self.pending = Some(self.rt.spawn(async move {
                    if let Some(s) = server {
                        s.shutdown().await;
                    }
                    tx.send(Event::Stopped);
                }));
            }
            Command::ProbeDevices => {
                spawn_thread("probe-devices", move || {
                    tx.send(Event::Devices(probe_devices()));
                });
            }
            Command::CheckNet(check) => {
                spawn_thread("net-check", move || tx.send(Event::Net(check.run())));
            }
            Command::ReadStats => {
                if let Some(s) = lock(&self.server).as_ref() {
                    let status = s.state.live.status();
                    let lines = s
                        .state
                        .live
                        .list()
                        .iter()
                        .map(|sum| {
                            let st = status
                                .as_array()
                                .and_then(|a| a.iter().find(|v| v["name"] == sum.name.as_str()))
                                .cloned()
                                .unwrap_or_default();
                            StreamLine::new(sum, &st)
                        })
                        .collect();
                    tx.send(Event::Stats(lines));
                }
            }
            Command::SaveSettings => {}
        }
    }

    /// Stops everything, waiting (bounded) for the start or stop in flight and for the
    /// server to close its port and release its devices. For the window's close.
    pub fn shutdown_blocking(&mut self) {
        lock(&self.preview).take();
        let pending = self.pending.take();
        let server = self.server.clone();
        // Waits on a plain channel, not `block_on`: this may be called on a thread that is
        // inside the runtime's `block_on` already (the binary's main thread).
        let (done, finished) = channel();
        self.rt.spawn(async move {
            if let Some(p) = pending {
                let _ = p.await;
            }
            let s = lock(&server).take();
            if let Some(s) = s {
                s.shutdown().await;
            }
            let _ = done.send(());
        });
        if finished.recv_timeout(EXIT_WAIT).is_err() {
            tracing::warn!("the server did not stop within {EXIT_WAIT:?}; leaving anyway");
        }
    }
}

/// Sends an event and wakes the window.
struct Waker {
    tx: Sender<Event>,
    ctx: Option<egui::Context>,
}

impl Waker {
    fn send(&self, e: Event) {
        // The window may be gone already (closing): nobody to tell.
        let _ = self.tx.send(e);
        if let Some(ctx) = &self.ctx {
            ctx.request_repaint();
        }
    }
}

fn spawn_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        tracing::warn!("cannot start the {name} thread: {e}");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the window shows of a started server.
fn run_info(s: &Server) -> RunInfo {
    RunInfo {
        urls: s.urls.clone(),
        port: s.local_addr.port(),
        login: s.auth.as_ref().map(|a| a.path().display().to_string()),
        fingerprint: s
            .self_signed_cert
            .as_ref()
            .and_then(|pem| homestream_auth::tls::fingerprint(pem).ok()),
    }
}

/// `homestream devices`' own probe.
fn probe_devices() -> DeviceList {
    match homestream_live::cli::devices() {
        Ok(d) => DeviceList {
            cameras: d.cameras,
            mics: d.microphones,
            camera_error: None,
        },
        Err(e) => DeviceList {
            cameras: Vec::new(),
            mics: homestream_mic::list().map_err(|e| e.to_string()),
            camera_error: Some(format!("{e:#}")),
        },
    }
}
