//! The codec crate's one error type.

/// Everything that can go wrong while converting or encoding, with the context needed to find
/// the offending frame or setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A configuration was refused before any encoder was built.
    #[error("{codec} configuration: {reason}")]
    BadConfig {
        /// Which encoder (`"H.264"`, `"Opus"`).
        codec: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// An input buffer has the wrong size for what it claims to be.
    #[error("{what}: expected {expected} values, got {got}")]
    BadLength {
        /// Which buffer.
        what: &'static str,
        /// How many values it should hold.
        expected: usize,
        /// How many it holds.
        got: usize,
    },
    /// A picture is too small to hold even one 2x2 block of 4:2:0 samples.
    #[error("a {width}x{height} picture is too small (at least 2x2 is needed for 4:2:0)")]
    TooSmall {
        /// Width given.
        width: usize,
        /// Height given.
        height: usize,
    },
    /// A frame does not have the size the encoder was configured for.
    #[error("frame is {got_width}x{got_height}, the encoder was configured for {width}x{height}")]
    FrameSize {
        /// Configured width.
        width: u32,
        /// Configured height.
        height: u32,
        /// Width of the frame given.
        got_width: u32,
        /// Height of the frame given.
        got_height: u32,
    },
    /// OpenH264 refused or failed.
    #[error("H.264 encoder (OpenH264), frame {frame}: {reason}")]
    H264 {
        /// Index of the frame being encoded (0 for the first; also used while initialising).
        frame: u64,
        /// What OpenH264 said.
        reason: String,
    },
    /// The Opus encoder refused or failed.
    #[error("Opus encoder, packet {packet}: {reason}")]
    Opus {
        /// Index of the packet being encoded.
        packet: u64,
        /// What the encoder said.
        reason: String,
    },
    /// Bytes that should be a JPEG could not be decoded.
    #[error("JPEG decode: {0}")]
    Jpeg(String),
}
