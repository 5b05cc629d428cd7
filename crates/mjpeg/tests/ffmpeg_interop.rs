//! Interop with ffmpeg's mpjpeg muxer behind its own HTTP server (`-listen 1`), which sends
//! `Content-Type: application/octet-stream` with chunked coding: `watch --save` must get all
//! 20 frames as JPEG files that ffmpeg itself decodes.

use homestream_mjpeg::Error;
use homestream_mjpeg::watch::{Stop, WatchOptions, watch};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills ffmpeg if the test fails half-way.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn watch_saves_every_frame_of_an_ffmpeg_mpjpeg_stream() {
    assert!(
        ffmpeg_available(),
        "ffmpeg is not installed: this interop test needs it on PATH (Debian: apt-get install ffmpeg)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x.mjpg");
    let _ffmpeg = Child(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=10",
            ])
            .args([
                "-frames:v",
                "20",
                "-c:v",
                "mjpeg",
                "-f",
                "mpjpeg",
                "-listen",
                "1",
                &url,
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("start ffmpeg"),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut o = WatchOptions::new(&url);
    o.save_dir = Some(dir.path().to_owned());
    // ffmpeg needs a moment before it listens.
    let start = Instant::now();
    let summary = loop {
        match watch(&o, |_| {}).await {
            Err(Error::Unreachable { .. }) if start.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => break other.expect("watch the ffmpeg stream"),
        }
    };
    assert_eq!(summary.stop, Stop::Ended);
    assert_eq!(summary.saved.len(), 20, "ffmpeg wrote 20 frames");
    for path in &summary.saved {
        let jpeg = std::fs::read(path).unwrap();
        assert!(
            jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]),
            "{} is not a whole JPEG",
            path.display()
        );
    }
    // ffmpeg decodes every saved file.
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(dir.path().join("frame-%06d.jpg"))
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("run ffmpeg to decode");
    assert!(
        out.status.success(),
        "ffmpeg could not decode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "decode errors: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    assert_eq!(decoded, 20);
}
