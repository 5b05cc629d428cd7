use homestream_library::Library;
use homestream_live::LiveRegistry;
use std::sync::Arc;
use std::time::Instant;

/// What every handler can reach.
pub struct AppState {
    pub library: Arc<Library>,
    pub live: Arc<LiveRegistry>,
    /// WebRTC (WHEP) for the live streams; `None` when its UDP port could not be bound.
    pub webrtc: Option<Arc<homestream_live_http::whep::Whep>>,
    pub started: Instant,
}
