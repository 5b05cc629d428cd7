//! `homestream watch URL --show` under Xvfb, against `homestream serve --live demo=test`: the
//! window's pixels change from one second to the next, and the test pattern's timecode read
//! back from the window's pixels gives the display delay (screen capture time minus the
//! frame's capture time). With every drawing slowed to 150 ms (the `HOMESTREAM_SHOW_SLOW_MS`
//! test hook) the delay stays bounded instead of growing: a slow display skips frames.

#![cfg(all(target_os = "linux", feature = "gui"))]

mod common;

use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The stream's size.
const FW: usize = 640;
/// See `FW`.
const FH: usize = 360;
/// The window's inner size (`viewer::run`).
const WW: usize = 960;
/// See `WW`.
const WH: usize = 600;

struct Kill(Child);

/// The tests with a window take turns: with two Xvfb servers started at once, a window of
/// one test once failed to connect to its server ("Failed to open connection to X server").
static ONE_WINDOW_TEST_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The timecode block (README, "The test pattern's timecode") read from the screen: the frame
/// is drawn scaled to fit the window's inner area, centred, with the window at the screen's
/// top left (Xvfb has no window manager).
fn timecode(rgb: &[u8]) -> Option<(u64, u64)> {
    let scale = (WW as f64 / FW as f64).min(WH as f64 / FH as f64);
    let (ox, oy) = (
        (WW as f64 - FW as f64 * scale) / 2.0,
        (WH as f64 - FH as f64 * scale) / 2.0,
    );
    let c = (FW / 40).clamp(4, 16);
    let (x0, y0) = (FW - 18 * c + c, FH - 8 * c + c);
    let mut rows = [0u16; 6];
    for (r, word) in rows.iter_mut().enumerate() {
        for col in 0..16 {
            let fx = (x0 + col * c) as f64 + c as f64 / 2.0;
            let fy = (y0 + r * c) as f64 + c as f64 / 2.0;
            let (sx, sy) = ((ox + fx * scale) as usize, (oy + fy * scale) as usize);
            let p = &rgb[(sy * W + sx) * 3..(sy * W + sx) * 3 + 3];
            let luma = (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000;
            if luma > 128 {
                *word |= 1 << (15 - col);
            }
        }
    }
    let check = 0xA5A5 ^ rows[0] ^ rows[1] ^ rows[2] ^ rows[3] ^ rows[4];
    if rows[5] != check {
        return None;
    }
    let frame = rows[0] as u64 | (rows[1] as u64) << 16;
    let ms = rows[2] as u64 | (rows[3] as u64) << 16 | (rows[4] as u64) << 32;
    Some((frame, ms))
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Screenshots for `secs` seconds, one a second; returns (frame number, display delay in ms)
/// per screenshot whose timecode could be read, the delay an upper bound (the time after
/// the screen was read).
fn delays(display: &str, secs: usize) -> (Vec<(u64, u64)>, usize) {
    let mut out = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    for _ in 0..secs {
        let shot = screenshot(display);
        let after = unix_ms(SystemTime::now());
        distinct.insert(shot.iter().step_by(97).copied().collect::<Vec<u8>>());
        if let Some((frame, captured)) = timecode(&shot) {
            out.push((frame, after.saturating_sub(captured)));
        }
        std::thread::sleep(Duration::from_millis(1000));
    }
    (out, distinct.len())
}

fn watch_window(x: &Xvfb, url: &str, slow_ms: Option<u64>) -> Kill {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homestream"));
    cmd.args(["watch", url, "--show"])
        .env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null());
    // Its messages, to say why when no window comes.
    let log = tempfile::NamedTempFile::new().unwrap();
    cmd.stderr(log.reopen().unwrap());
    if let Some(ms) = slow_ms {
        cmd.env("HOMESTREAM_SHOW_SLOW_MS", ms.to_string());
    }
    let mut child = Kill(cmd.spawn().unwrap());
    let until = Instant::now() + Duration::from_secs(30);
    while xdotool(
        &x.display,
        &["search", "--onlyvisible", "--name", "stream.mjpg"],
    )
    .is_empty()
    {
        let why = || std::fs::read_to_string(log.path()).unwrap_or_default();
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "watch --show ended ({status}) before its window showed: {}",
                why()
            );
        }
        assert!(
            Instant::now() < until,
            "no window titled with the URL: {}",
            why()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The first frames: give the window a moment to draw them.
    std::thread::sleep(Duration::from_secs(2));
    child
}

#[test]
fn the_window_shows_the_live_picture_and_a_slow_display_does_not_fall_behind() {
    let _turn = ONE_WINDOW_TEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    let port = free_port();
    let _server = Kill(
        Command::new(env!("CARGO_BIN_EXE_homestream"))
            .args(["serve", "--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--live", &format!("demo=test:{FW}x{FH}@15")])
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}/live/demo/stream.mjpg");
    // `watch` gives up on a refused connection, as it should: start it once the server listens.
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the server never listened");
        std::thread::sleep(Duration::from_millis(100));
    }

    let window = watch_window(&x, &url, None);
    let (fast, distinct) = delays(&x.display, 4);
    drop(window);
    eprintln!("display delays (frame, ms): {fast:?}");
    assert_eq!(distinct, 4, "each screenshot differs from the others");
    assert!(
        fast.len() >= 3,
        "the timecode is readable from the window: {fast:?}"
    );
    assert!(
        fast.windows(2).all(|w| w[1].0 > w[0].0),
        "frame numbers advance: {fast:?}"
    );
    assert!(fast.iter().all(|d| d.1 < 1500), "{fast:?}");

    // Every drawing takes 150 ms more: about 6 pictures a second of a 15 fps stream.
    let window = watch_window(&x, &url, Some(150));
    let (slow, _) = delays(&x.display, 6);
    drop(window);
    eprintln!("slowed display delays (frame, ms): {slow:?}");
    assert!(slow.len() >= 4, "{slow:?}");
    // Bounded: never more than a drawing or two plus the screen grab behind, and not growing
    // (a queue of frames would add ~60% of the elapsed time, 3 s over these 6 s).
    assert!(slow.iter().all(|d| d.1 < 1500), "{slow:?}");
    let (first, last) = (slow[0].1, slow[slow.len() - 1].1);
    assert!(last < first + 500, "the delay grew: {slow:?}");

    // `--duration` applies: the window closes itself and watch exits 0.
    let mut timed = Command::new(env!("CARGO_BIN_EXE_homestream"))
        .args(["watch", &url, "--show", "--duration", "2"])
        .env("DISPLAY", &x.display)
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = timed.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > until {
            let _ = timed.kill();
            panic!("watch --show --duration 2 still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn without_a_display_it_says_so_and_suggests_save_or_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_homestream"))
        .args(["watch", "http://127.0.0.1:9/stream.mjpg", "--show"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("no display") && err.contains("--save DIR") && err.contains("--json"),
        "{err}"
    );
}

/// Runs `homestream watch ARGS --show` on `x` with `stdin` as its input; waits (bounded) for
/// it to end by itself. Returns (exit code, stdout, stderr, whether a window titled with the
/// stream's URL was seen while it ran).
fn watch_show_until_exit(x: &Xvfb, args: &[&str], stdin: &str) -> (i32, String, String, bool) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_homestream"))
        .arg("watch")
        .args(args)
        .arg("--show")
        .env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut out, &mut s).map(|_| s)
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).map(|_| s)
        }),
    );
    let mut child = Kill(child);
    let mut window = false;
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < until,
            "watch {args:?} --show still running"
        );
        window |= !xdotool(
            &x.display,
            &["search", "--onlyvisible", "--name", "stream.mjpg"],
        )
        .is_empty();
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = readers.0.join().unwrap().unwrap();
    let err = readers.1.join().unwrap().unwrap();
    (status.code().unwrap_or(-1), out, err, window)
}

fn saved_jpegs(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            assert_eq!(n, &format!("frame-{:06}.jpg", i + 1), "{names:?}");
            std::fs::read(dir.join(n)).unwrap()
        })
        .collect()
}

/// With `--show`, everything `watch` does still happens: `--json` lines on stdout, `--save`
/// writes every frame in order, `--frames`/`--duration`/`--snapshot` end it (and close the
/// window), over HTTPS (`--insecure`) behind a login (`-u` + `--password-stdin`); a wrong
/// password and an untrusted certificate exit with watch's codes before any window opens.
#[test]
fn every_watch_option_applies_with_show_over_tls_and_a_login() {
    let _turn = ONE_WINDOW_TEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    let bin = env!("CARGO_BIN_EXE_homestream");
    let mut add = Command::new(bin)
        .args(["user", "add", "alice", "--password-stdin", "--users"])
        .arg(&users)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(add.stdin.as_mut().unwrap(), b"correct horse\n").unwrap();
    assert!(add.wait().unwrap().success());
    let port = free_port();
    let _server = Kill(
        Command::new(bin)
            .args(["serve", "--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--live", &format!("demo=test:{FW}x{FH}@15")])
            .arg("--tls-self-signed")
            .arg("--auth")
            .arg(&users)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the server never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("https://127.0.0.1:{port}/live/demo/stream.mjpg");
    let login = ["--insecure", "-u", "alice", "--password-stdin"];

    // --frames + --save + --json: exactly 12 frames saved in order, the JSON agrees, exit 0.
    let save = dir.path().join("frames");
    let save_s = save.to_str().unwrap();
    let mut args = vec![url.as_str(), "--frames", "12", "--save", save_s, "--json"];
    args.extend(login);
    let (code, out, err, window) = watch_show_until_exit(&x, &args, "correct horse\n");
    assert_eq!(code, 0, "{err}");
    assert!(window, "the window opened: {err}");
    let jpegs = saved_jpegs(&save);
    assert_eq!(jpegs.len(), 12, "{err}");
    for j in &jpegs {
        assert!(j.starts_with(&[0xFF, 0xD8]) && j.ends_with(&[0xFF, 0xD9]));
    }
    let last: serde_json::Value =
        serde_json::from_str(out.lines().last().expect("a JSON line on stdout")).unwrap();
    assert_eq!(last["frames"], 12, "{out}");
    assert!(err.contains("saved 12 frames"), "{err}");

    // --duration: the window closes itself; the JSON says about 2 s of frames at 15 fps.
    let mut args = vec![url.as_str(), "--duration", "2", "--json"];
    args.extend(login);
    let (code, out, err, window) = watch_show_until_exit(&x, &args, "correct horse\n");
    assert_eq!(code, 0, "{err}");
    assert!(window, "{err}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let frames = last["frames"].as_u64().unwrap();
    assert!((15..=40).contains(&frames), "{out}");
    assert!(
        out.lines().count() >= 2,
        "a line a second and a last one: {out}"
    );

    // --snapshot: one frame to the file, then exit 0.
    let snap = dir.path().join("snap.jpg");
    let mut args = vec![url.as_str(), "--snapshot", snap.to_str().unwrap()];
    args.extend(login);
    let (code, _, err, _) = watch_show_until_exit(&x, &args, "correct horse\n");
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&snap).unwrap().starts_with(&[0xFF, 0xD8]));

    // A wrong password: exit 6 (authentication refused), and no window.
    let mut args = vec![url.as_str(), "--duration", "5"];
    args.extend(login);
    let (code, _, err, window) = watch_show_until_exit(&x, &args, "wrong\n");
    assert_eq!(code, 6, "{err}");
    assert!(!window && err.contains("homestream watch:"), "{err}");

    // The self-signed certificate without --insecure: exit 4 with the way out named.
    let (code, _, err, window) = watch_show_until_exit(
        &x,
        &[url.as_str(), "-u", "alice", "--password-stdin"],
        "x\n",
    );
    assert_eq!(code, 4, "{err}");
    assert!(!window && err.contains("--insecure"), "{err}");
}
