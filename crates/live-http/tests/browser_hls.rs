//! Headless Chromium plays `/live/NAME/?via=hls` with hls.js (bundled in the binary): picture
//! at the source rate, the beeps, glass-to-glass latency from the timecode block; and the
//! bundled hls.js is the npm package's file.

mod common;

use std::time::Duration;

#[test]
fn the_bundled_hls_js_is_the_pinned_npm_package() {
    let root = homestream_test_support::workspace_root();
    let npm = root.join("tests/browser/node_modules/hls.js/dist/hls.light.min.js");
    let from_npm = std::fs::read(&npm).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `npm ci` in tests/browser; bash scripts/test.sh does)",
            npm.display()
        )
    });
    assert!(
        from_npm == homestream_live_http::hls::HLS_JS,
        "web/vendor/hls.light.min.js differs from {}: copy it again",
        npm.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_ll_hls_with_hls_js() {
    let (addr, _reg, _task) =
        common::serve(&["demo=test:640x360@30"], Duration::from_secs(1)).await;
    let url = format!("http://{addr}/live/demo/?via=hls");
    let seen = homestream_test_support::browser_script("live_mse.mjs", &[&url, "6"], &[]).await;
    eprintln!("{seen:#}");
    homestream_test_support::assert_no_console_errors(&seen);
    let first = &seen["first"];
    assert_eq!(first["page"]["transport"], "hls");
    assert!(
        first["page"]["engine"]
            .as_str()
            .unwrap_or("")
            .starts_with("hls.js 1.7.4"),
        "played by {}",
        first["page"]["engine"]
    );
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
    assert!(p95 > 0.0 && p95 < 1500.0, "glass-to-glass p95 {p95} ms");
    assert!(
        first["beeps"].as_u64().unwrap() >= 4,
        "beeps heard: {first}"
    );
    let page_latency = first["page"]["latencyMs"]
        .as_f64()
        .expect("the page reads its latency");
    assert!(
        page_latency > 0.0 && page_latency < 3000.0,
        "page readout {page_latency}"
    );
    let reloaded = &seen["reloaded"];
    assert!(
        reloaded["fps"].as_f64().unwrap() > 20.0,
        "after a reload: {reloaded}"
    );
}
