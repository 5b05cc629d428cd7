//! Headless Chromium plays `/live/NAME/?via=mse` of the `test` source: picture at the source
//! rate, the beeps through Web Audio, glass-to-glass latency from the timecode block, recovery
//! after a reload and after a server restart.

mod common;

use std::time::Duration;

/// The tests of this file run one at a time: each measures frame rates and sound on two
/// cores that a second Chromium and encoder would share.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// It once presented 2-6 fps in CI: a late capture made a decode-time gap that MSE treats as a
// discontinuity, dropping video up to the next keyframe. Video samples now declare a hold
// (encode/video.rs, HOLD_FRAMES), so this test guards that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_mse_with_sound_and_recovers() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let specs = ["demo=test:640x360@30"];
    // On a runtime of its own, so that stopping it closes every connection (a real restart).
    let (addr, rt) = std::thread::spawn(move || common::serve_detached(&specs))
        .join()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ready");
    let url = format!("http://{addr}/live/demo/?via=mse");
    let mark_s = mark.to_string_lossy().into_owned();
    let script = tokio::spawn(async move {
        homestream_test_support::browser_script(
            "live_mse.mjs",
            &[&url, "6", "restart"],
            &[("HS_MARK", &mark_s)],
        )
        .await
    });
    // Restart the server when the page has been measured and reloaded.
    for _ in 0..900 {
        if mark.exists() || script.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mark.exists(), "the page never got to the restart step");
    std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(2)))
        .join()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, rt2) = std::thread::spawn(move || common::serve_detached_on(addr, &specs))
        .join()
        .unwrap();
    let seen = script.await.unwrap();
    std::thread::spawn(move || rt2.shutdown_timeout(Duration::from_secs(2)))
        .join()
        .unwrap();
    eprintln!("{seen:#}");
    // While the server is down the page's reconnect attempts are refused, and Chromium logs
    // each; nothing else may appear.
    let errors: Vec<&str> = seen["consoleErrors"]
        .as_array()
        .expect("consoleErrors")
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|e| !e.contains("ERR_CONNECTION_REFUSED"))
        .collect();
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");
    let first = &seen["first"];
    assert_eq!(first["page"]["transport"], "mse");
    assert_eq!(
        (
            first["page"]["width"].as_u64(),
            first["page"]["height"].as_u64()
        ),
        (Some(640), Some(360))
    );
    let fps = first["fps"].as_f64().unwrap();
    assert!(
        (25.0..=33.0).contains(&fps),
        "presented {fps} fps of a 30 fps source"
    );
    assert_eq!(first["backwards"], 0, "frames never go backwards");
    let p95 = first["latencyP95"]
        .as_f64()
        .expect("latency measured from timecodes");
    assert!(p95 > 0.0 && p95 < 1000.0, "glass-to-glass p95 {p95} ms");
    assert!(
        first["beeps"].as_u64().unwrap() >= 4,
        "beeps heard: {first}"
    );
    assert!(
        first["firstFrameAt"].as_f64().unwrap() < 3000.0,
        "first picture"
    );
    let page_latency = first["page"]["latencyMs"]
        .as_f64()
        .expect("the page reads its latency");
    assert!(
        page_latency > 0.0 && page_latency < 1000.0,
        "page readout {page_latency}"
    );
    assert!(
        first["page"]["readout"]
            .as_str()
            .unwrap()
            .contains("latency")
    );
    for phase in ["reloaded", "restarted"] {
        let m = &seen[phase];
        assert!(m["fps"].as_f64().unwrap() > 20.0, "{phase}: {m}");
        assert!(m["latencyP95"].as_f64().unwrap() < 1000.0, "{phase}: {m}");
    }
    assert!(seen["restarted"]["page"]["reconnects"].as_u64().unwrap() >= 1);
}

/// A reconnect while the first `play()` is still pending (the socket dropped right after the
/// init segment) must not leave the stream muted: the pending play is rejected with an
/// AbortError, which the page once took for a refusal of autoplay with sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_before_the_first_picture_keeps_the_sound() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let specs = ["demo=test:320x180@30"];
    let (addr, rt) = std::thread::spawn(move || common::serve_detached(&specs))
        .join()
        .unwrap();
    let url = format!("http://{addr}/live/demo/?via=mse");
    let seen =
        homestream_test_support::browser_script("live_mse.mjs", &[&url, "4", "drop-first"], &[])
            .await;
    std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(2)))
        .join()
        .unwrap();
    let first = &seen["first"];
    assert!(first["page"]["reconnects"].as_u64().unwrap() >= 1, "{seen}");
    assert_eq!(seen["muted"], false, "the page muted itself: {seen}");
    assert!(first["beeps"].as_u64().unwrap() >= 2, "beeps heard: {seen}");
}
