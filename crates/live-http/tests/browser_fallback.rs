//! The live page's own choice of transport (no `?via=`): it tries WebRTC, MSE, LL-HLS and
//! MJPEG in turn. This server has no WHEP route (the live routes alone, as a server whose
//! WebRTC failed to start), so WebRTC's offer is refused and the page must end on MSE and play.
//! The binary's WebRTC, chosen by default, is `homestream`'s
//! `webrtc_browser` test (it needs a loopback-only namespace).

mod common;

use std::time::Duration;

// Chromium reports the refused offer (this router has no WHEP route) as a failed load.
const REFUSED_OFFER: &[&str] = &["status of 404", "status of 405"];

fn assert_played(seen: &serde_json::Value, transport: &str) {
    assert_eq!(seen["transport"], transport, "{seen:#}");
    assert_eq!(
        seen["transports"],
        serde_json::json!([transport]),
        "{seen:#}"
    );
    assert_eq!(
        (seen["width"].as_u64(), seen["height"].as_u64()),
        (Some(640), Some(360)),
        "{seen:#}"
    );
    let fps = seen["fps"].as_f64().unwrap();
    assert!(
        (12.0..=33.0).contains(&fps),
        "presented {fps} fps: {seen:#}"
    );
    assert!(
        seen["advanced"].as_u64().unwrap() >= 45,
        "the pattern moves on: {seen:#}"
    );
    assert_eq!(seen["backwards"], 0, "{seen:#}");
    assert!(
        seen["readout"]
            .as_str()
            .unwrap()
            .starts_with(&transport.to_uppercase()),
        "the readout names the transport: {seen:#}"
    );
    let tried = seen["tried"].as_array().unwrap();
    assert_eq!(tried.len(), 1, "{seen:#}");
    assert_eq!(tried[0]["transport"], "webrtc", "{seen:#}");
    assert!(
        tried[0]["why"].as_str().unwrap().contains("40"),
        "gave up on WebRTC for the refused offer: {seen:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_webrtc_the_page_ends_on_mse_and_plays() {
    let (addr, _reg, _task) =
        common::serve(&["demo=test:640x360@30"], Duration::from_secs(1)).await;
    let url = format!("http://{addr}/live/demo/");
    let seen = homestream_test_support::browser_script("live_fallback.mjs", &[&url], &[]).await;
    eprintln!("{seen:#}");
    homestream_test_support::assert_no_console_errors_except(&seen, REFUSED_OFFER);
    assert_played(&seen, "mse");
    // A refused offer is a failure at once, not a timeout.
    assert!(
        seen["settledMs"].as_u64().unwrap() < 5000,
        "on MSE quickly: {seen:#}"
    );
}
