//! `/assets/<name>`: the pages' scripts and styles, compiled into the binary.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/style.css"),
    ),
    (
        "player.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/player.js"),
    ),
];

/// GET `/assets/<name>`.
pub async fn asset(Path(name): Path<String>) -> Response {
    if name == "hls.light.min.js" {
        // The bundled hls.js (npm at build time), for HLS of remuxed and transcoded files.
        return (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            homestream_live_http::hls::HLS_JS,
        )
            .into_response();
    }
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ct, body)) => (
            [
                (header::CONTENT_TYPE, *ct),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}
