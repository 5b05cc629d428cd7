//! Microphones by friendly name: list the input devices, open one by name (or the default),
//! and read mono 48 kHz `f32` chunks of 20 ms, each stamped with the monotonic [`Instant`] its
//! first sample was captured, on the same clock as the video frames.
//!
//! Real devices come through `cpal` behind this crate's `cpal` feature, off by default: on
//! Linux cpal needs ALSA's headers (Debian `libasound2-dev`) to build, and a plain
//! `cargo run --release` must build on a fresh machine. Without the feature, [`list`] and
//! [`open`] return [`MicError::NoSupport`], whose message says how to get support.
//!
//! The work is split so that almost all of it is tested without a sound card: [`select`]
//! matches names and picks a capture format, [`dsp`] mixes channels, resamples, chunks and
//! timestamps, [`queue`] hands chunks from the audio callback to the consumer. The cpal code
//! only wires those together.
//!
//! ```no_run
//! use homestream_mic::{MicId, open};
//! use std::time::Duration;
//! let mic = open(&"yeti".parse::<MicId>().unwrap())?;
//! while let Some(chunk) = mic.next_chunk(Duration::from_millis(500))? {
//!     assert_eq!(chunk.samples.len(), 960);
//! }
//! # Ok::<(), homestream_mic::MicError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "cpal")]
mod backend;
pub mod dsp;
mod error;
pub mod queue;
pub mod select;

pub use error::MicError;

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sample rate of every chunk, Hz.
pub const RATE: u32 = 48_000;

/// Samples in one chunk: 20 ms at 48 kHz, one Opus packet.
pub const CHUNK_SAMPLES: usize = 960;

/// Chunks the queue holds before dropping the oldest: one second.
pub const QUEUE_CHUNKS: usize = 50;

/// What a build without microphone support says, in one place. The binary exposes the `cpal`
/// feature of this crate as its own `mic` feature.
pub const NO_SUPPORT: &str = "this build has no microphone support: rebuild with `--features mic` \
                              (on Linux install libasound2-dev first)";

/// An input device as the audio system describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicInfo {
    /// The name to show and to pass to [`MicId::Name`].
    pub name: String,
    /// The audio system's identifier (ALSA: `hw:CARD=PCH,DEV=0`, `default`, ...); also
    /// accepted by [`MicId::Name`], exactly.
    pub id: String,
    /// Whether the system calls it the default input.
    pub is_default: bool,
    /// The most channels it can capture.
    pub channels: u16,
    /// Sample rates it can capture, Hz.
    pub sample_rates: Vec<RangeInclusive<u32>>,
}

/// Which microphone to open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MicId {
    /// The system's default input device.
    Default,
    /// By name: exact name or id, else a unique case-insensitive substring of a name (see
    /// [`select::choose`]).
    Name(String),
}

impl std::str::FromStr for MicId {
    type Err = std::convert::Infallible;

    /// `default` (or an empty string) is [`MicId::Default`]; anything else is a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(if s.is_empty() || s.eq_ignore_ascii_case("default") {
            MicId::Default
        } else {
            MicId::Name(s.to_string())
        })
    }
}

impl std::fmt::Display for MicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MicId::Default => f.write_str("default"),
            MicId::Name(n) => f.write_str(n),
        }
    }
}

/// 20 ms of mono 48 kHz audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// [`CHUNK_SAMPLES`] samples, nominally -1.0..=1.0.
    pub samples: Vec<f32>,
    /// When the first sample was captured (derived from the device's capture timestamps when
    /// the backend gives them, else from arrival time minus the buffer's length).
    pub captured: Instant,
}

/// The input devices there are. Without the `cpal` feature: [`MicError::NoSupport`].
pub fn list() -> Result<Vec<MicInfo>, MicError> {
    #[cfg(feature = "cpal")]
    {
        backend::list()
    }
    #[cfg(not(feature = "cpal"))]
    {
        Err(MicError::NoSupport)
    }
}

/// Opens a microphone and starts capturing. Without the `cpal` feature: [`MicError::NoSupport`].
pub fn open(which: &MicId) -> Result<MicCapture, MicError> {
    #[cfg(feature = "cpal")]
    {
        backend::open(which)
    }
    #[cfg(not(feature = "cpal"))]
    {
        let _ = which;
        Err(MicError::NoSupport)
    }
}

/// A microphone being captured. Dropping it stops the stream and releases the device.
pub struct MicCapture {
    name: String,
    device_rate: u32,
    device_channels: u16,
    queue: Arc<queue::DropOldestQueue>,
    #[cfg(feature = "cpal")]
    _stream: cpal::Stream,
}

impl std::fmt::Debug for MicCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicCapture")
            .field("name", &self.name)
            .field("device_rate", &self.device_rate)
            .field("device_channels", &self.device_channels)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

impl MicCapture {
    /// The next chunk, waiting up to `timeout`: `Ok(None)` if none came in time, and
    /// [`MicError::Disconnected`] once the device has gone (after the chunks it delivered).
    pub fn next_chunk(&self, timeout: Duration) -> Result<Option<AudioChunk>, MicError> {
        self.queue
            .pop(timeout)
            .map_err(|reason| MicError::Disconnected {
                name: self.name.clone(),
                reason,
            })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `(sample rate, channels)` the device captures at, before conversion to 48 kHz mono.
    pub fn device_format(&self) -> (u32, u16) {
        (self.device_rate, self.device_channels)
    }

    /// Chunks dropped because the consumer fell more than [`QUEUE_CHUNKS`] behind.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mic_id_parses_default_and_names() {
        assert_eq!("default".parse::<MicId>().unwrap(), MicId::Default);
        assert_eq!(" ".parse::<MicId>().unwrap(), MicId::Default);
        assert_eq!(
            "Blue Yeti".parse::<MicId>().unwrap(),
            MicId::Name("Blue Yeti".into())
        );
        assert_eq!(MicId::Name("x".into()).to_string(), "x");
    }

    #[cfg(not(feature = "cpal"))]
    #[test]
    fn without_the_feature_list_and_open_say_how_to_get_support() {
        let err = list().unwrap_err();
        assert_eq!(err, MicError::NoSupport);
        assert!(err.to_string().contains("--features mic"), "{err}");
        assert!(err.to_string().contains("libasound2-dev"), "{err}");
        assert_eq!(open(&MicId::Default).unwrap_err(), MicError::NoSupport);
    }
}
