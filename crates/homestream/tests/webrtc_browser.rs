//! Headless Chromium plays `/live/demo/` from the real binary and picks WebRTC by itself:
//! WHEP signalling, ICE over loopback, H.264 presented at the source rate, the beeps through
//! Web Audio, glass-to-glass latency from the timecode block, the page's own latency readout.
//! Then a Chromium whose WebRTC may not use loopback (no ICE path to the server) gives up on
//! WebRTC after the page's step time and ends on MSE, playing.
//!
//! Chromium's WebRTC prefers interfaces other than loopback, so the server and the browser
//! run in a private network namespace that holds only `lo` (`unshare --net`, as root, which
//! CI is): nothing leaves the machine and no other interface is there to prefer.

use std::time::Duration;

#[tokio::test]
async fn chromium_plays_webrtc_with_sound_in_a_loopback_only_namespace() {
    let root = homestream_test_support::workspace_root();
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules is missing: bash scripts/test.sh runs npm ci"
    );
    let dir = tempfile::tempdir().unwrap();
    // Inside the namespace: loopback up, the server in the background, the browser script;
    // the server is stopped whatever the script did.
    let sh = r#"ip link set lo up || exit 90
"$HS_BIN" serve "$HS_DIR" --bind 127.0.0.1 --port 18080 --webrtc-port 18081 --live demo=test:640x360@30 > "$HS_DIR/server.log" 2>&1 &
pid=$!
node "$HS_SCRIPT" "http://127.0.0.1:18080/live/demo/" 6
rc=$?
if [ $rc = 0 ]; then
  node "$HS_FALLBACK" "http://127.0.0.1:18080/live/demo/" > "$HS_DIR/fallback.json"
  rc=$?
fi
kill $pid; wait $pid
exit $rc"#;
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("unshare")
            .args(["--net", "sh", "-c", sh])
            .env("HS_BIN", env!("CARGO_BIN_EXE_homestream"))
            .env("HS_DIR", dir.path())
            .env("HS_SCRIPT", root.join("tests/browser/live_webrtc.mjs"))
            .env("HS_FALLBACK", root.join("tests/browser/live_fallback.mjs"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("browser script finished in time")
    .expect("unshare (util-linux) runs");
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "unshare --net (needs root) / live_webrtc.mjs failed ({:?}): {}\n{stdout}\nserver log:\n{log}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON from live_webrtc.mjs ({e}): {stdout}"));
    eprintln!("{seen:#}");
    homestream_test_support::assert_no_console_errors(&seen);
    let page = &seen["page"];
    assert_eq!(page["transport"], "webrtc", "{seen}");
    assert_eq!(
        page["tried"],
        serde_json::json!([]),
        "WebRTC at the first try: {seen}"
    );
    assert_eq!(
        page["iceServers"],
        serde_json::json!([]),
        "no --ice-server: {seen}"
    );
    assert_eq!(
        (page["width"].as_u64(), page["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(page["reconnects"], 0);
    let fps = seen["fps"].as_f64().unwrap();
    assert!(
        (20.0..=33.0).contains(&fps),
        "presented {fps} fps of a 30 fps source"
    );
    assert_eq!(seen["backwards"], 0, "frames never go backwards");
    let p50 = seen["latencyP50"].as_f64().expect("latency from timecodes");
    let p95 = seen["latencyP95"].as_f64().unwrap();
    assert!(
        p50 > 0.0 && p50 < 150.0 && p95 < 300.0,
        "glass-to-glass p50 {p50} p95 {p95} ms"
    );
    assert!(seen["beeps"].as_u64().unwrap() >= 4, "beeps heard: {seen}");
    assert!(
        seen["firstFrameAt"].as_f64().unwrap() < 3000.0,
        "first picture"
    );
    // The page reads its latency from RTP timestamps on the server's clock; it must agree with
    // the timecode's within a frame or two of display timing.
    let readout = page["pageLatencyP50"]
        .as_f64()
        .expect("the page reads its latency");
    assert!(
        (readout - p50).abs() < 60.0,
        "page {readout} ms, timecodes {p50} ms"
    );
    assert!(page["readout"].as_str().unwrap().contains("latency"));
    assert!(log.contains("webrtc: session created"), "{log}");

    // No ICE path: the page's WebRTC step times out (or fails) and MSE plays.
    let text = std::fs::read_to_string(dir.path().join("fallback.json")).unwrap_or_default();
    let fb: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("no JSON from live_fallback.mjs ({e}): {text}"));
    eprintln!("{fb:#}");
    homestream_test_support::assert_no_console_errors(&fb);
    assert_eq!(fb["transport"], "mse", "{fb:#}");
    assert_eq!(fb["transports"], serde_json::json!(["mse"]), "{fb:#}");
    assert_eq!(fb["tried"][0]["transport"], "webrtc", "{fb:#}");
    assert_eq!(fb["tried"].as_array().unwrap().len(), 1, "{fb:#}");
    assert!(fb["fps"].as_f64().unwrap() >= 12.0, "{fb:#}");
    assert!(fb["advanced"].as_u64().unwrap() >= 45, "{fb:#}");
    assert!(
        fb["settledMs"].as_u64().unwrap() < 20_000,
        "on MSE within the WebRTC step's time and a bit: {fb:#}"
    );
}
