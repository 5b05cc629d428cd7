//! A phone's camera, played by Chromium: one headless Chromium with a fake camera publishes
//! from `/live/cam/publish` (WHIP) with the page's button; a second plays `/live/cam/` over
//! WebRTC. Server and browsers run in a private network namespace holding only `lo`, as in
//! `webrtc_browser.rs`.

use std::time::Duration;

#[tokio::test]
async fn chromium_publishes_from_the_page_and_another_chromium_watches() {
    let root = homestream_test_support::workspace_root();
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .exists(),
        "tests/browser/node_modules is missing: bash scripts/test.sh runs npm ci"
    );
    let dir = tempfile::tempdir().unwrap();
    let sh = r#"ip link set lo up || exit 90
"$HS_BIN" serve "$HS_DIR" --bind 127.0.0.1 --port 18090 --webrtc-port 18091 --live cam=publish > "$HS_DIR/server.log" 2>&1 &
pid=$!
node "$HS_SCRIPT" "http://127.0.0.1:18090" cam 5
rc=$?
kill $pid; wait $pid
exit $rc"#;
    let out = tokio::time::timeout(
        Duration::from_secs(150),
        tokio::process::Command::new("unshare")
            .args(["--net", "sh", "-c", sh])
            .env("HS_BIN", env!("CARGO_BIN_EXE_homestream"))
            .env("HS_DIR", dir.path())
            .env("HS_SCRIPT", root.join("tests/browser/live_publish.mjs"))
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
        "unshare --net (needs root) / live_publish.mjs failed ({:?}): {}\n{stdout}\nserver log:\n{log}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON from live_publish.mjs ({e}): {stdout}"));
    eprintln!("{seen:#}");
    homestream_test_support::assert_no_console_errors(&seen);
    assert!(
        !seen["cameras"].as_array().unwrap().is_empty(),
        "the page lists the fake camera: {seen}"
    );
    assert_eq!(seen["publisher"]["state"], "live", "{seen}");
    // The publish page shows who watches (the second browser).
    assert_eq!(seen["publisher"]["stats"]["viewers"], 1, "{seen}");
    assert!(
        seen["publisher"]["readout"]
            .as_str()
            .is_some_and(|r| r.contains("1 viewer")),
        "{seen}"
    );
    assert_eq!(seen["viewer"]["transport"], "webrtc", "{seen}");
    assert!(seen["viewer"]["width"].as_u64().unwrap() > 0, "{seen}");
    let fps = seen["fps"].as_f64().unwrap();
    assert!(fps > 15.0, "the viewer presented {fps} fps: {seen}");
    assert!(log.contains("whip: publisher accepted"), "{log}");
}
