//! `mic:NAME|default`: a microphone through `homestream-mic` (cpal; compiled in with the
//! binary's `mic` feature). Chunks arrive mono at 48 kHz with the capture instant of their first
//! sample.

use super::{AudioChunk, AudioSource};
use crate::clock;
use crate::error::LiveError;
use std::time::Duration;

/// A microphone that sends nothing for this long has gone away.
const SILENT_DEVICE: Duration = Duration::from_secs(2);

/// A running microphone.
pub struct MicSource {
    capture: homestream_mic::MicCapture,
    label: String,
}

impl std::fmt::Debug for MicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicSource")
            .field("label", &self.label)
            .finish()
    }
}

fn err(label: &str, e: impl std::fmt::Display) -> LiveError {
    LiveError::Mic {
        mic: label.to_string(),
        reason: e.to_string(),
    }
}

impl MicSource {
    /// Opens the microphone named (or partly named) `name`, or the default one.
    pub fn open(name: Option<&str>) -> Result<Self, LiveError> {
        let label = name.unwrap_or("default").to_string();
        let id = match name {
            Some(n) => homestream_mic::MicId::Name(n.to_string()),
            None => homestream_mic::MicId::Default,
        };
        let capture = homestream_mic::open(&id).map_err(|e| err(&label, e))?;
        Ok(MicSource { capture, label })
    }
}

impl AudioSource for MicSource {
    fn next_chunk(&mut self) -> Result<AudioChunk, LiveError> {
        match self.capture.next_chunk(SILENT_DEVICE) {
            Ok(Some(c)) => Ok(AudioChunk {
                samples: c.samples,
                captured: clock::at(c.captured),
            }),
            Ok(None) => Err(err(&self.label, "sent no sound for 2 s")),
            Err(e) => Err(err(&self.label, e)),
        }
    }
}
