//! `homestream gui FOLDER` under Xvfb (Debian `xvfb`, Mesa's software GL): the real binary
//! opens a real window. The test reads the screen (ffmpeg's x11grab) and its words
//! (tesseract), clicks Start where the screen says "Start" (xdotool), fetches the URL the
//! window shows, sees the offline line (the internet check is pointed at a closed loopback
//! port), then closes the window the way a window manager's close button does
//! (`WM_DELETE_WINDOW`) and checks that the process ends and the port is free.
//! `bash scripts/test.sh` installs xvfb, xdotool and tesseract-ocr.

#![cfg(all(target_os = "linux", feature = "gui"))]

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Words on the screen with their centres (screen pixels), read at twice the size (egui's
/// 14 px text is small for tesseract).
fn words(rgb: &[u8], dir: &Path) -> Vec<(String, i32, i32)> {
    let path = dir.join("screen.ppm");
    let mut f = std::fs::File::create(&path).unwrap();
    write!(f, "P6\n{} {}\n255\n", W * 2, H * 2).unwrap();
    let mut row = Vec::with_capacity(W * 6);
    for y in 0..H {
        row.clear();
        for x in 0..W {
            let p = &rgb[(y * W + x) * 3..(y * W + x) * 3 + 3];
            row.extend_from_slice(p);
            row.extend_from_slice(p);
        }
        f.write_all(&row).unwrap();
        f.write_all(&row).unwrap();
    }
    drop(f);
    let out = Command::new("tesseract")
        .arg(&path)
        .args(["stdout", "tsv"])
        .stderr(Stdio::null())
        .output()
        .expect("tesseract (Debian tesseract-ocr; `bash scripts/test.sh` installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let text = c.get(11)?.trim();
            if text.is_empty() {
                return None;
            }
            let n = |i: usize| c.get(i).and_then(|v| v.parse::<i32>().ok());
            let (left, top, width, height) = (n(6)?, n(7)?, n(8)?, n(9)?);
            Some((
                text.to_string(),
                (left + width / 2) / 2,
                (top + height / 2) / 2,
            ))
        })
        .collect()
}

fn text_of(words: &[(String, i32, i32)]) -> String {
    words
        .iter()
        .map(|w| w.0.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a window manager's close button sends: a `WM_DELETE_WINDOW` client message.
fn close_window(display: &str, window: u32) {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
    let (conn, _) = x11rb::connect(Some(display)).unwrap();
    let atom = |name: &[u8]| conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let event = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
    conn.send_event(false, window, EventMask::NO_EVENT, event)
        .unwrap();
    conn.flush().unwrap();
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Waits (bounded) for `f` to give something.
fn wait_for<T>(what: &str, limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    wait_for_or(String::new, what, limit, f)
}

/// [`wait_for`], saying `why()` too when it fails.
fn wait_for_or<T>(
    why: impl Fn() -> String,
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < until,
            "{what}: not within {limit:?}; {}",
            why()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_window_shows_starts_serves_the_folder_and_closing_it_frees_the_port() {
    let x = Xvfb::start();
    let tmp = tempfile::tempdir().unwrap();
    let share = tmp.path().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("holiday-1998.mp4"), b"not really a movie").unwrap();
    let config = tmp.path().join("config");
    std::fs::create_dir_all(config.join("homestream")).unwrap();
    let port = free_port();
    std::fs::write(
        config.join("homestream/gui.toml"),
        format!("port = {port}\n"),
    )
    .unwrap();
    let closed = free_port();
    let log = std::fs::File::create(tmp.path().join("stderr.log")).unwrap();
    let mut gui = Command::new(env!("CARGO_BIN_EXE_homestream"))
        .arg("gui")
        .arg(&share)
        .env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_CONFIG_HOME", &config)
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .env("HOMESTREAM_NET_CHECK", format!("127.0.0.1:{closed}"))
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let stderr = || std::fs::read_to_string(tmp.path().join("stderr.log")).unwrap_or_default();

    let _window: u32 = wait_for("the window", Duration::from_secs(30), || {
        if let Ok(Some(status)) = gui.try_wait() {
            panic!("homestream gui exited ({status}): {}", stderr());
        }
        xdotool(
            &x.display,
            &["search", "--onlyvisible", "--name", "^homestream$"],
        )
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
    });

    // The window is drawn (not blank) and says Start.
    let start = wait_for("Start on the screen", Duration::from_secs(20), || {
        let shot = screenshot(&x.display);
        let first = &shot[..3];
        let differing = shot.chunks(3).filter(|p| *p != first).count();
        if differing < W * H / 50 {
            return None;
        }
        words(&shot, tmp.path())
            .into_iter()
            .find(|w| w.0 == "Start")
    });
    xdotool(
        &x.display,
        &[
            "mousemove",
            &start.1.to_string(),
            &start.2.to_string(),
            "click",
            "1",
        ],
    );
    // Away from the button, so that its label is read unhovered.
    xdotool(&x.display, &["mousemove", "1000", "760"]);

    // The URL the window shows serves the folder.
    let page = wait_for("the server", Duration::from_secs(20), || {
        http_get(port, "/").filter(|p| p.starts_with("HTTP/1.1 200"))
    });
    assert!(page.contains("holiday-1998.mp4"), "{page}");
    let last_read = std::cell::RefCell::new(String::new());
    let screen = wait_for_or(
        || format!("the screen read: {}", last_read.borrow()),
        "the URL and the offline line",
        Duration::from_secs(20),
        || {
            let text = text_of(&words(&screenshot(&x.display), tmp.path()));
            // OCR puts a space after some colons ("http: //"); the URL is compared without.
            let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            // The port, as part of a URL the window shows (OCR now and then misreads a digit
            // of an address; the request above went to the loopback one).
            let url = format!(":{port}/");
            let seen = squeezed.contains(&url) && text.contains("offline: no internet");
            *last_read.borrow_mut() = text.clone();
            seen.then_some(text)
        },
    );
    assert!(
        screen.contains("Stop"),
        "the button now says Stop: {screen}"
    );
    assert!(
        stderr().contains("GET / 200"),
        "the request is logged as by serve: {}",
        stderr()
    );

    // Close as a window manager does; asked again every few seconds, as a user would click
    // again, in case the first message came while the window was not listening yet.
    let close = |x: &Xvfb| {
        for w in xdotool(&x.display, &["search", "--name", "^homestream$"]).lines() {
            if let Ok(w) = w.parse() {
                close_window(&x.display, w);
            }
        }
    };
    close(&x);
    let mut again = Instant::now() + Duration::from_secs(5);
    // Generous: on a loaded machine stopping takes a while (the server drains for up to 2 s).
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = gui.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > again {
            close(&x);
            again = Instant::now() + Duration::from_secs(5);
        }
        if Instant::now() > until {
            let _ = gui.kill();
            panic!("the process did not end after the close: {}", stderr());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}: {}", stderr());
    std::net::TcpListener::bind(("0.0.0.0", port)).expect("the port is free");
    // The command line's folder is remembered for the next run.
    let kept = std::fs::read_to_string(config.join("homestream/gui.toml")).unwrap();
    assert!(kept.contains(&*share.to_string_lossy()), "{kept}");
}

#[test]
fn without_a_display_it_says_so_and_suggests_serve() {
    for display in [None, Some(":999")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_homestream"));
        cmd.arg("gui")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        if let Some(d) = display {
            // Named, but nothing is there.
            cmd.env("DISPLAY", d);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{display:?}");
        assert!(
            err.contains("`homestream serve [PATH]...`"),
            "{display:?}: {err}"
        );
        match display {
            None => assert!(err.contains("no display"), "{err}"),
            Some(_) => assert!(err.contains("cannot open the window"), "{err}"),
        }
    }
}
