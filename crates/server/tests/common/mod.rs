//! Shared by the server's integration tests: a real server on loopback, media made by ffmpeg,
//! and a raw HTTP/1.1 client for requests that URL libraries would normalize away.

#![allow(dead_code)]

use homestream_server::{ServeConfig, Server};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Starts a server for `dir` on 127.0.0.1 with an ephemeral port.
pub async fn serve(dirs: &[&Path]) -> Server {
    serve_with(dirs, false).await
}

/// [`serve`], choosing whether library files may go by `sendfile` (the fast path) or are
/// always copied through hyper.
pub async fn serve_with(dirs: &[&Path], no_sendfile: bool) -> Server {
    homestream_server::start(ServeConfig {
        paths: dirs.iter().map(|d| d.to_path_buf()).collect(),
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: Some(0),
        live: Vec::new(),
        auth: None,
        auth_config: Default::default(),
        tls: homestream_server::Tls::Off,
        no_sendfile,
        state_dir: None,
        webrtc: Default::default(),
        // The transcoder stays off here: its tests start their own servers (`serve_transcoding`).
        no_transcode: true,
        ffmpeg: None,
        transcode_jobs: None,
    })
    .await
    .expect("server starts")
}

/// A server for `dirs` with ffmpeg on (from PATH), its cache in `state`, at most `jobs` jobs.
pub async fn serve_transcoding(dirs: &[&Path], state: &Path, jobs: usize) -> Server {
    homestream_server::start(ServeConfig {
        paths: dirs.iter().map(|d| d.to_path_buf()).collect(),
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: Some(0),
        state_dir: Some(state.to_path_buf()),
        transcode_jobs: Some(jobs),
        ..Default::default()
    })
    .await
    .expect("server starts")
}

/// Makes an H.264/AAC MP4 of `secs` seconds with ffmpeg (Debian's), `faststart` or not.
pub fn make_clip(path: &Path, secs: u32, faststart: bool) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25")
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t"])
        .arg(secs.to_string())
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac"]);
    if faststart {
        cmd.args(["-movflags", "+faststart"]);
    }
    let status = cmd
        .arg(path)
        .status()
        .expect("ffmpeg must be installed (the README's test command installs it)");
    assert!(status.success(), "ffmpeg failed to make {}", path.display());
}

/// Sends `request` verbatim and returns (status code, head, body).
pub fn raw_request(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, buf[split..].to_vec())
}

/// `GET path` with `Connection: close`, path sent exactly as given.
pub fn raw_get(addr: SocketAddr, path: &str) -> u16 {
    raw_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
    .0
}
