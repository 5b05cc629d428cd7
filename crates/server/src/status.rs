//! `/api/status`: what the server is doing, for scripts and the pages.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use std::sync::Arc;

/// GET `/api/status`.
pub async fn status(State(st): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": st.started.elapsed().as_secs_f64(),
        "library": st.library.roots().iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "streams": st.live.status(),
        "webrtc": st.webrtc.as_ref().map(|w| w.status_json()),
        "whip": st.whip.as_ref().map(|w| w.status_json()),
        "transcode": st.transcode.as_ref().map(|t| t.status()),
    }))
}
