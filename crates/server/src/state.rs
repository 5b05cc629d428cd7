use homestream_library::Library;
use homestream_live::LiveRegistry;
use std::sync::Arc;
use std::time::Instant;

/// What every handler can reach.
pub struct AppState {
    pub library: Arc<Library>,
    pub live: Arc<LiveRegistry>,
    pub started: Instant,
}
