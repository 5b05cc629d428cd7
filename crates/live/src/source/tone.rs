//! The `test` source's sound: a 1 kHz beep of 100 ms at every whole second after the source's
//! start, silence between, 48 kHz mono.
//!
//! The beep's first sample is captured at exactly the instant of the test pattern's white
//! flash frame (frame `k * fps`, captured at `start + k s`; see
//! [`super::test_pattern::TestSource::new`]), so the offset between flash and beep in any
//! recording is the A/V sync error of everything after the source. Samples are generated from a
//! sample counter, never from reading the clock, so the tone itself cannot drift.

use super::{AudioChunk, AudioSource};
use crate::clock;
use crate::error::LiveError;
use std::time::{Duration, Instant};

/// Sample rate of every audio source (what Opus codes natively).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples per chunk the synthetic sources deliver: 20 ms, one Opus frame.
pub const CHUNK: usize = 960;
/// Beep frequency.
pub const BEEP_HZ: f32 = 1000.0;
/// Beep length in samples (100 ms).
pub const BEEP_SAMPLES: u64 = 4800;
const AMPLITUDE: f32 = 0.5;

/// Sample `n` (counted from the source's start) of the tone.
pub fn sample(n: u64) -> f32 {
    if n % SAMPLE_RATE as u64 >= BEEP_SAMPLES {
        return 0.0;
    }
    let phase = (n % SAMPLE_RATE as u64) as f32 * BEEP_HZ / SAMPLE_RATE as f32;
    AMPLITUDE * (std::f32::consts::TAU * phase).sin()
}

/// A paced synthetic source: the tone, or silence (what a stream plays while its microphone is
/// missing).
#[derive(Debug)]
pub struct ToneSource {
    start: Instant,
    next: u64,
    silent: bool,
}

impl ToneSource {
    /// The tone, with sample 0 captured at `start`.
    pub fn new(start: Instant) -> Self {
        ToneSource {
            start,
            next: 0,
            silent: false,
        }
    }

    /// Silence, paced like the tone, starting now.
    pub fn silence() -> Self {
        ToneSource {
            start: Instant::now(),
            next: 0,
            silent: true,
        }
    }

    /// The chunk starting at sample `first` (pure: for tests and for [`AudioSource`]).
    pub fn chunk_at(&self, first: u64) -> AudioChunk {
        let samples = if self.silent {
            vec![0.0; CHUNK]
        } else {
            (first..first + CHUNK as u64).map(sample).collect()
        };
        AudioChunk {
            samples,
            captured: clock::at(self.start + samples_to_duration(first)),
        }
    }
}

/// The duration of `n` samples at [`SAMPLE_RATE`], to the nanosecond.
pub fn samples_to_duration(n: u64) -> Duration {
    Duration::from_nanos((n as u128 * 1_000_000_000 / SAMPLE_RATE as u128) as u64)
}

impl AudioSource for ToneSource {
    fn next_chunk(&mut self) -> Result<AudioChunk, LiveError> {
        // A chunk is "captured" once its last sample's time has passed, as from a microphone.
        let due = self.start + samples_to_duration(self.next + CHUNK as u64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else if now - due > Duration::from_millis(200) {
            // Far behind (a stalled thread): skip ahead instead of bursting stale sound.
            let elapsed = (now - self.start).as_nanos();
            let at = (elapsed * SAMPLE_RATE as u128 / 1_000_000_000) as u64;
            self.next = at / CHUNK as u64 * CHUNK as u64;
        }
        let chunk = self.chunk_at(self.next);
        self.next += CHUNK as u64;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beep_starts_on_the_second_and_lasts_100_ms() {
        assert_eq!(sample(0), 0.0); // sin(0): the beep starts at phase 0
        assert!(sample(12).abs() > 0.4); // a quarter period of 1 kHz at 48 kHz
        assert_eq!(sample(BEEP_SAMPLES), 0.0);
        assert_eq!(sample(SAMPLE_RATE as u64 - 1), 0.0);
        assert!(sample(SAMPLE_RATE as u64 + 12).abs() > 0.4);
        let energy = |r: std::ops::Range<u64>| r.map(|n| sample(n).powi(2)).sum::<f32>();
        assert!(energy(0..4800) > 550.0); // 4800 x 0.5^2 / 2 = 600
        assert_eq!(energy(4800..48_000), 0.0);
    }

    #[test]
    fn chunks_are_stamped_from_the_sample_counter() {
        let start = Instant::now();
        let t = ToneSource::new(start);
        let c = t.chunk_at(48_000);
        assert_eq!(c.samples.len(), CHUNK);
        assert_eq!(
            crate::clock::instant_of(c.captured.pts),
            start + Duration::from_secs(1)
        );
        assert!(c.samples[12].abs() > 0.4);
        assert!(
            ToneSource::silence()
                .chunk_at(0)
                .samples
                .iter()
                .all(|s| *s == 0.0)
        );
    }
}
