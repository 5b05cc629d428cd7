//! A server killed with SIGKILL in the middle of a transcode leaves no ffmpeg behind: a
//! user's `kill -9` (or the OOM killer) must not leave encoders burning both cores.
//!
//! Nothing in the server can run when it is SIGKILLed; what ends its ffmpeg jobs is the pipe:
//! ffmpeg writes to the server's end of a pipe that the kernel closes with the process, gets
//! EPIPE on its next write and exits.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A GET on a fresh connection; the status code, or `None` when nobody answered.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// The ffmpeg processes whose parent is `pid`.
fn ffmpeg_children(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string(), "ffmpeg"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A process still runs (a zombie waiting for its new parent to reap it has ended).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next())
        })
        .flatten()
        .is_some_and(|state| state != 'Z' && state != 'X')
}

fn make_movie(out: &Path) {
    // 60 s of 720p MPEG-4 Part 2: the browser cannot play it, so it is re-encoded, which
    // takes long enough that the job is still running when the server is killed.
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t",
            "60",
            "-c:v",
            "mpeg4",
            "-q:v",
            "8",
            "-c:a",
            "libmp3lame",
        ])
        .arg(out)
        .status()
        .expect("ffmpeg (the README's test command installs it)");
    assert!(st.success());
}

#[test]
fn a_killed_server_leaves_no_ffmpeg_running() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    make_movie(&dir.path().join("old.avi"));
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_homestream"))
        .arg("serve")
        .arg(dir.path())
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        // The transcode cache goes under the user's data folder: keep it in the test's.
        .env("XDG_DATA_HOME", data.path())
        .env("HOME", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    let t0 = Instant::now();
    while get_status(port, "/api/status") != Some(200) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the server never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two viewers in two places of the film: two jobs.
    let hls = "/hls/old.avi/vh264-a1aac";
    assert_eq!(get_status(port, &format!("{hls}/index.m3u8")), Some(200));
    assert_eq!(get_status(port, &format!("{hls}/0.m4s")), Some(200));
    assert_eq!(get_status(port, &format!("{hls}/7.m4s")), Some(200));
    let jobs = ffmpeg_children(pid);
    assert_eq!(jobs.len(), 2, "one ffmpeg per place in the film: {jobs:?}");

    // Both jobs are mid-file (60 s of 720p is not encoded yet), throttled or encoding.
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let _ = server.wait();
    let killed = Instant::now();
    while jobs.iter().any(|p| running(*p)) {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "ffmpeg {jobs:?} still running {:?} after the server was killed",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "both ffmpeg jobs ended {} ms after the server was killed",
        killed.elapsed().as_millis()
    );
}
