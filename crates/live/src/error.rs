//! The live crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in a live stream, with enough context to tell the user.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// `--live NAME=SOURCE` is malformed.
    #[error("--live {spec:?}: {reason}")]
    BadSpec {
        /// What was given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A SOURCE is malformed.
    #[error("source {spec:?}: {reason}")]
    BadSource {
        /// What was given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// Two streams with one name.
    #[error("--live: the name {0:?} is used twice")]
    DuplicateName(String),
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A `jpegs:` folder holds no JPEG.
    #[error("no .jpg/.jpeg files in {0}")]
    NoFrames(PathBuf),
    /// A file is too large to be a frame.
    #[error("{0} is larger than 32 MiB")]
    TooLarge(PathBuf),
    /// A file is not a JPEG.
    #[error("{0} is not a JPEG")]
    NotJpegFile(PathBuf),
    /// Bytes that should be a JPEG are not.
    #[error("frame is not a JPEG")]
    NotJpeg,
    /// Encoding or packaging failed (JPEG, H.264, Opus, CMAF: the message says which).
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A camera could not be found or used.
    #[error("camera {camera}: {reason}")]
    Camera {
        /// Which camera.
        camera: String,
        /// What went wrong.
        reason: String,
    },
    /// A microphone could not be found or used.
    #[error("microphone {mic}: {reason}")]
    Mic {
        /// Which microphone.
        mic: String,
        /// What went wrong.
        reason: String,
    },
    /// The upstream of a relay failed.
    #[error("relay of {url}: {reason}")]
    Relay {
        /// Upstream URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}
