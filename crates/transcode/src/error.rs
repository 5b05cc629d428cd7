use std::path::PathBuf;

/// Why a probe, a job, a poster or a subtitle track could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// ffmpeg/ffprobe are not installed (or not where `--ffmpeg` says).
    #[error("ffmpeg is not available: {0}")]
    NoFfmpeg(String),
    /// A tool ran but failed on this file.
    #[error("{tool} failed on {path}: {message}")]
    Tool {
        tool: &'static str,
        path: PathBuf,
        message: String,
    },
    /// A tool ran over its time.
    #[error("{tool} took longer than {secs} s on {path}")]
    Timeout {
        tool: &'static str,
        path: PathBuf,
        secs: u64,
    },
    /// ffprobe's or ffmpeg's output made no sense.
    #[error("unreadable {what}: {message}")]
    Parse { what: &'static str, message: String },
    /// A request for something the file does not have (a segment past the end, a missing track).
    #[error("no such {0}")]
    Missing(&'static str),
    /// Every job slot is taken by a stream someone is watching.
    #[error("every transcoding slot ({0}) is in use")]
    Busy(usize),
    /// The cache folder.
    #[error("cache {path}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}
