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
    /// WHIP for `publish` streams; `None` when there is none (or no UDP port could be bound).
    pub whip: Option<Arc<homestream_live_http::whip::Whip>>,
    pub started: Instant,
    /// Remux/transcode, posters, embedded subtitles; `None` when ffmpeg is missing.
    pub transcode: Option<Arc<homestream_transcode::Transcoder>>,
    /// What a page says of a file it cannot play when `transcode` is `None`: how to get
    /// ffmpeg; nothing when the user turned transcoding off (`--no-transcode`).
    pub transcode_hint: Option<&'static str>,
}
