//! Interop with real peers: ffmpeg's mpjpeg demuxer and headless Chromium. Both must be
//! installed (the test command installs Debian's ffmpeg and chromium); a missing one fails the
//! test with a message, it never passes silently.

mod common;

use std::process::Stdio;
use std::time::Duration;

fn require(tool: &str) {
    let found = std::process::Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{tool} is required for this test but was not found on PATH"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_reads_the_stream_with_mpjpeg_and_decodes_frames() {
    require("ffmpeg");
    let (addr, _reg, server) = common::serve(&["t=test:320x240@30"], Duration::from_secs(1)).await;
    let url = format!("http://{addr}/live/t/stream.mjpg");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "mpjpeg",
                "-i",
                &url,
            ])
            .args(["-frames:v", "20", "-f", "framemd5", "-"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffmpeg finished in time")
    .expect("ffmpeg ran");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(frames.len(), 20, "decoded frames:\n{text}");
    // Decoded pictures of 320x240 RGB-ish frames differ from each other (moving pattern).
    let md5s: std::collections::HashSet<&str> =
        frames.iter().filter_map(|l| l.rsplit(',').next()).collect();
    assert!(md5s.len() > 10, "frames differ: {md5s:?}");
    assert!(text.contains("#dimensions 0: 320x240"), "{text}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_viewer_page_image_changing() {
    let (addr, _reg, server) = common::serve(&["t=test:320x240@30"], Duration::from_secs(1)).await;
    let url = format!("http://{addr}/live/t/?via=mjpeg");
    let v = homestream_test_support::browser_script("live_mjpeg.mjs", &[&url], &[]).await;
    homestream_test_support::assert_no_console_errors(&v);
    eprintln!("chromium: {v}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert!(
        v["distinct"].as_u64().unwrap_or(0) >= 4,
        "image changes over time: {v}"
    );
    assert!(
        v["stats"]
            .as_str()
            .unwrap_or_default()
            .starts_with("MJPEG · 320x240 · "),
        "{v}"
    );
    server.abort();
}
