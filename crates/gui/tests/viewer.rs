//! The `watch --show` window driven headlessly (egui_kittest): the overlay says what arrived
//! and what is shown, space pauses, `s` saves the frame shown byte for byte, `f` asks for full
//! screen, `q` and Esc close.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use homestream_gui::egui;
use homestream_gui::viewer::ViewerApp;
use homestream_mjpeg::Frame;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

fn jpeg(w: u16, h: u16, grey: u8) -> bytes::Bytes {
    let rgb = vec![grey; w as usize * h as usize * 3];
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out.into()
}

fn frame(seq: u64, data: bytes::Bytes, delay: Duration) -> Frame {
    let received = SystemTime::now();
    Frame {
        seq,
        data,
        headers: Default::default(),
        timestamp: Some(received - delay),
        received,
        received_at: Instant::now(),
    }
}

type Slot = Arc<Mutex<Option<Frame>>>;

fn harness(save: &std::path::Path) -> (Harness<'static, ViewerApp>, Slot) {
    let slot: Slot = Arc::default();
    let from = slot.clone();
    let app = ViewerApp::new(
        Box::new(move || from.lock().unwrap().clone()),
        save.to_path_buf(),
        None,
    );
    let h = Harness::builder()
        .with_size([640.0, 400.0])
        .build_ui_state(|ui, app: &mut ViewerApp| app.ui(ui), app);
    (h, slot)
}

fn overlay(h: &Harness<'_, ViewerApp>) -> String {
    h.get_by_label_contains("received")
        .accesskit_node()
        // A label's text is its AccessKit value.
        .value()
        .unwrap_or_default()
}

fn closes(h: &Harness<'_, ViewerApp>) -> bool {
    h.state().closing
}

#[test]
fn the_overlay_shows_size_and_delay_and_space_freezes_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, slot) = harness(dir.path());
    h.step();
    assert!(
        overlay(&h).contains("waiting for the first frame"),
        "{}",
        overlay(&h)
    );
    *slot.lock().unwrap() = Some(frame(0, jpeg(320, 240, 40), Duration::from_millis(42)));
    h.step();
    let o = overlay(&h);
    assert!(o.contains("320x240") && o.contains("delay 42 ms"), "{o}");
    assert_eq!(h.state().state.shown.map(|s| s.seq), Some(0));
    h.key_press(egui::Key::Space);
    h.step();
    *slot.lock().unwrap() = Some(frame(5, jpeg(640, 360, 200), Duration::from_millis(10)));
    h.step();
    h.step();
    assert_eq!(h.state().state.shown.map(|s| s.seq), Some(0), "paused");
    assert!(overlay(&h).contains("paused (space)"));
    h.key_press(egui::Key::Space);
    h.step();
    h.step();
    assert_eq!(
        h.state().state.shown.map(|s| s.seq),
        Some(5),
        "frames 1-4 were never decoded"
    );
    assert!(overlay(&h).contains("640x360"), "{}", overlay(&h));
}

#[test]
fn s_saves_the_frame_shown_f_asks_for_full_screen_q_and_escape_close() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, slot) = harness(dir.path());
    let shown = jpeg(64, 48, 90);
    *slot.lock().unwrap() = Some(frame(7, shown.clone(), Duration::ZERO));
    h.step();
    h.key_press(egui::Key::S);
    h.step();
    let saved = dir.path().join("shown-000007.jpg");
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        shown.as_ref(),
        "byte for byte"
    );
    assert!(overlay(&h).contains("saved"));
    h.key_press(egui::Key::F);
    h.step();
    assert!(h.state().state.fullscreen);
    assert!(!closes(&h));
    h.key_press(egui::Key::Q);
    h.step();
    assert!(closes(&h), "q closes");
    let (mut h, _) = harness(dir.path());
    h.key_press(egui::Key::Escape);
    h.step();
    assert!(closes(&h), "Esc closes");
}
