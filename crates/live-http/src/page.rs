//! `/live/NAME/`: the viewer page (web/live/index.html, embedded at build time).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../../web/live/index.html");
const SCRIPT: &str = include_str!("../../../web/live/live.js");
/// The LL-HLS and WebRTC players, files of their own so that the transports stay apart.
const HLS_SCRIPT: &str = include_str!("../../../web/live/hls-player.js");
const WEBRTC_SCRIPT: &str = include_str!("../../../web/live/webrtc.js");

/// The page for stream `name`.
pub fn respond(name: &str) -> Response {
    // The script first: it holds no placeholder, and the name must not be able to inject one.
    let html = PAGE
        .replace(
            "{{SCRIPT}}",
            &[HLS_SCRIPT, WEBRTC_SCRIPT, SCRIPT].join("\n"),
        )
        .replace("{{NAME}}", &html_escape(name));
    let mut res = html.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
