//! The one typed configuration of a server, filled from the command line (or, later, the GUI).

use homestream_live::LiveSpec;
use std::net::IpAddr;
use std::path::PathBuf;

/// Default port when none is given; the next [`PORT_TRIES`]` - 1` are tried if it is taken.
pub const DEFAULT_PORT: u16 = 8000;
/// How many ports are tried from the default.
pub const PORT_TRIES: u16 = 10;

/// Everything `homestream serve` needs.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    /// Folders to share (at least one).
    pub paths: Vec<PathBuf>,
    /// Address to listen on; `None` means every interface (IPv6 and IPv4).
    pub bind: Option<IpAddr>,
    /// Port; `None` means `DEFAULT_PORT` (8000) with fallback to the next free ones.
    pub port: Option<u16>,
    /// Live streams.
    pub live: Vec<LiveSpec>,
    /// Users file; `None` means no login (anyone on the network can watch).
    pub auth: Option<PathBuf>,
    /// Login settings (hash cost, session lifetime, rate limits) when `auth` is set.
    pub auth_config: homestream_auth::AuthConfig,
    /// HTTPS, or plain HTTP.
    pub tls: Tls,
    /// Never use `sendfile(2)` for library files on plain HTTP (for file systems where it
    /// misbehaves, as some network and VM shares do; also lets tests cover the copying path).
    pub no_sendfile: bool,
    /// Where the server keeps what it makes for itself between runs (the self-signed
    /// certificate, in `tls/`); `None` keeps nothing.
    pub state_dir: Option<PathBuf>,
    /// ffmpeg for files the browser cannot play (ffprobe beside it); `None`: from PATH.
    pub ffmpeg: Option<PathBuf>,
    /// Turns remuxing, transcoding and posters off even where ffmpeg is present.
    pub no_transcode: bool,
    /// At most this many ffmpeg segment jobs at once; `None`: one per core.
    pub transcode_jobs: Option<usize>,
    /// WebRTC: its UDP port and the addresses it offers.
    pub webrtc: homestream_live_http::whep::WhepConfig,
}

/// Whether and how the server speaks TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP.
    #[default]
    Off,
    /// A certificate chain and key from PEM files.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate made at start for this computer's addresses.
    SelfSigned,
}

/// Where a server started by the user keeps its state: `~/.local/share/homestream` on Linux
/// (`XDG_DATA_HOME`), the platform's place elsewhere. `serve` and the window both use it, so
/// they share one self-signed certificate.
pub fn default_state_dir() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join("homestream"))
}
