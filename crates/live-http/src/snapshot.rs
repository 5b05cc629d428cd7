//! `/live/NAME/snapshot.jpg`: the newest frame as one JPEG, with its capture time.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use homestream_live::stream::Stream;
use homestream_mjpeg::writer;
use std::sync::Arc;
use std::time::Duration;

/// How long a snapshot waits for a source that has to open first.
const WAIT: Duration = Duration::from_secs(5);

/// The newest frame of `stream`, or 503 when none arrives in time.
pub async fn respond(stream: &Arc<Stream>) -> Response {
    let Some(unit) = stream.snapshot(WAIT).await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "no frame yet\n",
        )
            .into_response();
    };
    let mut res = unit.payload.clone().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(unit.kind.mime()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&writer::format_timestamp(unit.captured)) {
        h.insert("x-timestamp", v);
    }
    res
}
