//! Starting and stopping 50 times from the window (clicking the button by its label) leaves
//! the process's threads, file descriptors and memory flat. Each start runs a live test
//! stream with its preview, so the source thread, encoders and hubs come and go too.
//! Alone in its own test binary so that no other test's threads or fds are counted.

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use homestream_gui::settings::{Settings, Video};
use homestream_gui::state::Phase;
use std::time::{Duration, Instant};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn thread_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Waits (bounded) for a count to come back down to `want` or below: threads that just
/// finished their work take a moment to exit.
fn settles(want: usize, mut now: impl FnMut() -> usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let n = now();
        if n <= want || Instant::now() > until {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fifty_starts_and_stops_leave_threads_fds_and_memory_flat() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.mp4"), b"x").unwrap();
    let port = free_port();
    let settings = Settings {
        paths: vec![dir.path().to_path_buf()],
        port: Some(port),
        video: Video::Test,
        width: 320,
        height: 240,
        fps: 15,
        preview: true,
        ..Settings::default()
    };
    let mut h = harness(settings, &rt);
    // Before any start: the window, the runtime's workers, the probes done.
    step_until(&mut h, Duration::from_secs(10), "the probes", |h| {
        h.state().model.devices.is_some() && h.state().model.network_line().is_some_and(|l| l.1)
    });
    // The probes' threads end right after they answer.
    std::thread::sleep(Duration::from_millis(300));
    let idle_threads = threads();
    let idle_names = thread_names();
    let url = format!("http://127.0.0.1:{port}/");
    let cycle = |h: &mut egui_kittest::Harness<'_, homestream_gui::GuiApp>| {
        h.get_by_label("Start").click();
        step_until(h, Duration::from_secs(10), "running", |h| shows(h, &url));
        // The preview's first frame: the source really opened and its frames were encoded.
        step_until(h, Duration::from_secs(10), "a preview frame", |h| {
            h.state()
                .engine
                .preview
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|p| p.latest.lock().unwrap().is_some())
        });
        // One request too, so a connection comes and goes each time.
        assert!(http_get(port, "/").starts_with("HTTP/1.1 200"));
        h.get_by_label("Stop").click();
        step_until(h, Duration::from_secs(10), "stopped", |h| {
            h.state().model.phase == Phase::Stopped && h.query_by_label("Start").is_some()
        });
    };
    // Warm up: the runtime's workers, the first textures, the allocator's arenas.
    for _ in 0..5 {
        cycle(&mut h);
    }
    let (t0, f0, m0) = (threads(), fds(), rss_kib());
    let started = Instant::now();
    for _ in 0..50 {
        cycle(&mut h);
    }
    let per_cycle = started.elapsed() / 50;
    let t1 = settles(t0, threads);
    let f1 = settles(f0, fds);
    let m1 = rss_kib();
    eprintln!(
        "50 cycles, {per_cycle:?} each: threads {idle_threads} idle, {t0} -> {t1}, fds {f0} -> {f1}, RSS {m0} -> {m1} KiB"
    );
    assert!(t1 <= t0, "threads grew: {t0} -> {t1}");
    // Stop waits until the source let go of its devices: no source thread outlives it.
    let t_stopped = settles(idle_threads, threads);
    assert!(
        t_stopped <= idle_threads,
        "threads left after the last stop: {:?}, before the first start: {idle_names:?}",
        thread_names()
    );
    assert!(
        per_cycle < Duration::from_millis(1500),
        "a start and stop took {per_cycle:?}: Stop waits out the grace period?"
    );
    assert!(f1 <= f0, "fds grew: {f0} -> {f1}");
    assert!(
        m1 < m0 + 8 * 1024,
        "memory grew by more than 8 MiB: {m0} -> {m1} KiB"
    );
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
}
