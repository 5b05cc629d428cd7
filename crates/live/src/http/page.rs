//! `/live/NAME/`: the viewer page (web/live/index.html, embedded at build time).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../../../web/live/index.html");

/// The page for stream `name`.
pub fn respond(name: &str) -> Response {
    let html = PAGE.replace("{{NAME}}", &html_escape(name));
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
