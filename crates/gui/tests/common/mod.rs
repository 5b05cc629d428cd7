//! Shared by the window's headless tests: a runtime, an app over a temp folder, and stepping
//! the harness until something shows (bounded in time).

#![allow(dead_code)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use homestream_gui::GuiApp;
use homestream_gui::netcheck::NetCheck;
use homestream_gui::settings::Settings;
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The server's runtime, as the binary has it.
pub fn runtime() -> tokio::runtime::Runtime {
    // Request lines reach the window through the same layer the binary installs.
    let _ = tracing_subscriber::registry()
        .with(homestream_gui::log_layer())
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Idle blocking-pool threads (file reads) end soon, so thread counts settle fast.
        .thread_keep_alive(Duration::from_millis(200))
        .enable_all()
        .build()
        .unwrap()
}

pub use homestream_test_support::free_port;

/// A window over `settings`; the internet check goes to a closed loopback port (offline).
pub fn harness(settings: Settings, rt: &tokio::runtime::Runtime) -> Harness<'static, GuiApp> {
    let closed = free_port();
    let app = GuiApp::new(
        settings,
        None,
        NetCheck::parse(&format!("127.0.0.1:{closed}")),
        rt.handle().clone(),
    );
    Harness::builder()
        .with_size([820.0, 1000.0])
        .build_ui_state(
            |ui, app: &mut GuiApp| {
                app.logic(ui.ctx());
                app.ui(ui);
            },
            app,
        )
}

/// Steps until `found` says yes, for at most `limit`.
pub fn step_until(
    h: &mut Harness<'_, GuiApp>,
    limit: Duration,
    what: &str,
    mut found: impl FnMut(&Harness<'_, GuiApp>) -> bool,
) {
    let until = Instant::now() + limit;
    loop {
        h.step();
        if found(h) {
            return;
        }
        assert!(
            Instant::now() < until,
            "{what} did not show within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a node whose label contains `text` is shown.
pub fn shows(h: &Harness<'_, GuiApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// `GET path` on loopback, the whole response as text.
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
