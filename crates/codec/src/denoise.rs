//! Noise suppression for microphones: RNNoise (Valin, "A Hybrid DSP/Deep Learning Approach to
//! Real-Time Full-Band Speech Enhancement", 2018) through `nnnoiseless`, its pure-Rust port.
//!
//! RNNoise works on 10 ms frames of 48 kHz mono audio (480 samples). A small recurrent network
//! estimates a gain for each of 22 bands from the frame's spectrum and pitch, so steady noise
//! (fans, hum, hiss) is pushed down while speech passes. It is trained on speech: it is meant for
//! voices, and may thin out music.
//!
//! `nnnoiseless` expects samples on the 16-bit scale (-32768.0..=32767.0) even though they are
//! `f32`; [`Denoiser`] takes and returns the usual -1.0..=1.0 and scales on the way in and out.
//!
//! The output runs [`Denoiser::DELAY`] samples behind the input (RNNoise's analysis window
//! overlap), measured in this module's tests: a capture timestamp for denoised audio is the
//! input's plus that delay.

use crate::CodecError;
use nnnoiseless::DenoiseState;

/// Scale between `f32` audio (-1.0..=1.0) and what RNNoise expects (the 16-bit range).
const SCALE: f32 = 32768.0;

/// A streaming RNNoise denoiser for one 48 kHz mono signal.
pub struct Denoiser {
    state: Box<DenoiseState<'static>>,
    /// Input not yet a whole frame.
    pending: Vec<f32>,
    scratch_in: Vec<f32>,
    scratch_out: Vec<f32>,
    /// Voice probability of the last frame.
    voice: f32,
}

impl std::fmt::Debug for Denoiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Denoiser")
            .field("pending", &self.pending.len())
            .field("voice", &self.voice)
            .finish_non_exhaustive()
    }
}

impl Default for Denoiser {
    fn default() -> Self {
        Self::new()
    }
}

impl Denoiser {
    /// Samples per RNNoise frame: 10 ms at 48 kHz.
    pub const FRAME: usize = DenoiseState::FRAME_SIZE;

    /// Samples by which the output lags the input.
    pub const DELAY: usize = DenoiseState::FRAME_SIZE;

    /// A denoiser with RNNoise's built-in model.
    pub fn new() -> Self {
        Denoiser {
            state: DenoiseState::new(),
            pending: Vec::with_capacity(Self::FRAME),
            scratch_in: vec![0.0; Self::FRAME],
            scratch_out: vec![0.0; Self::FRAME],
            voice: 0.0,
        }
    }

    /// Denoises exactly one frame ([`FRAME`](Self::FRAME) samples, -1.0..=1.0) into `output`
    /// (same length) and returns RNNoise's probability (0..=1) that the frame holds a voice.
    pub fn process_frame(&mut self, input: &[f32], output: &mut [f32]) -> Result<f32, CodecError> {
        for (what, len) in [
            ("denoise input", input.len()),
            ("denoise output", output.len()),
        ] {
            if len != Self::FRAME {
                return Err(CodecError::BadLength {
                    what,
                    expected: Self::FRAME,
                    got: len,
                });
            }
        }
        for (s, &x) in self.scratch_in.iter_mut().zip(input) {
            // Non-finite samples would poison the network's state for good: treat as silence.
            *s = if x.is_finite() {
                x.clamp(-1.0, 1.0) * SCALE
            } else {
                0.0
            };
        }
        self.voice = self
            .state
            .process_frame(&mut self.scratch_out, &self.scratch_in);
        for (o, &s) in output.iter_mut().zip(&self.scratch_out) {
            *o = s / SCALE;
        }
        Ok(self.voice)
    }

    /// Denoises any amount of input, appending every completed frame to `output`; up to
    /// [`FRAME`](Self::FRAME) - 1 samples wait inside for the next call.
    pub fn process(&mut self, mut input: &[f32], output: &mut Vec<f32>) {
        let mut frame = [0.0f32; DenoiseState::FRAME_SIZE];
        let mut out = [0.0f32; DenoiseState::FRAME_SIZE];
        while !input.is_empty() {
            let take = (Self::FRAME - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == Self::FRAME {
                frame.copy_from_slice(&self.pending);
                self.pending.clear();
                // Lengths are FRAME by construction, so this cannot fail.
                if self.process_frame(&frame, &mut out).is_ok() {
                    output.extend_from_slice(&out);
                }
            }
        }
    }

    /// RNNoise's voice probability for the last frame processed (0 before the first).
    pub fn voice_probability(&self) -> f32 {
        self.voice
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    const RATE: usize = 48_000;

    /// Deterministic white noise, uniform in -1..1.
    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
            })
            .collect()
    }

    /// Speech-like: a voiced harmonic series (pitch gliding 110-170 Hz, harmonics falling off
    /// as 1/k up to 4 kHz) switched on and off like syllables, four per second.
    fn speechlike(len: usize) -> Vec<f32> {
        let mut phase = 0.0f64;
        (0..len)
            .map(|i| {
                let t = i as f64 / RATE as f64;
                let f0 = 140.0 + 30.0 * (2.0 * PI * 0.7 * t).sin();
                phase += 2.0 * PI * f0 / RATE as f64;
                let syllable = (2.0 * PI * 4.0 * t).sin().max(0.0).powf(0.5);
                let mut v = 0.0;
                let mut k = 1.0;
                while k * f0 < 4000.0 {
                    v += (k * phase).sin() / k;
                    k += 1.0;
                }
                (0.12 * syllable * v) as f32
            })
            .collect()
    }

    fn energy(x: &[f32]) -> f64 {
        x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
    }

    fn db(x: f64) -> f64 {
        10.0 * x.log10()
    }

    fn run(input: &[f32]) -> Vec<f32> {
        let mut d = Denoiser::new();
        let mut out = Vec::new();
        // Odd chunk sizes, as a microphone delivers them.
        for chunk in input.chunks(333) {
            d.process(chunk, &mut out);
        }
        out
    }

    #[test]
    fn output_lags_by_delay() {
        // Half a second of a voice, then silence: the output correlates best with the input
        // DELAY samples later (within 2 samples: the peak of a band-limited signal).
        let mut input = vec![0.0f32; RATE];
        let voice = speechlike(RATE);
        input[..RATE / 2].copy_from_slice(&voice[..RATE / 2]);
        let out = run(&input);
        let lag = (0..2000)
            .max_by(|&a, &b| {
                let c = |d: usize| -> f64 {
                    (RATE / 8..RATE / 2 - 2000)
                        .map(|i| f64::from(input[i]) * f64::from(out[i + d]))
                        .sum()
                };
                c(a).total_cmp(&c(b))
            })
            .unwrap();
        assert!(lag.abs_diff(Denoiser::DELAY) <= 2, "measured lag {lag}");
    }

    #[test]
    fn white_noise_drops_by_more_than_10_db_and_speech_stays() {
        // 1 s noise, 2 s speech-like + noise, 1 s noise. Noise at -35 dBFS RMS, speech at about
        // -20: 15 dB SNR, a fan next to a laptop.
        let len = 4 * RATE;
        let n: Vec<f32> = noise(len, 7).iter().map(|v| v * 0.031).collect();
        let mut clean = vec![0.0f32; len];
        clean[RATE..3 * RATE].copy_from_slice(&speechlike(2 * RATE));
        let noisy: Vec<f32> = clean.iter().zip(&n).map(|(a, b)| a + b).collect();
        let out = run(&noisy);
        assert_eq!(out.len(), len);
        let d = Denoiser::DELAY;

        // Noise alone, after half a second to settle, and in the last second.
        let mut drops = Vec::new();
        for (a, b) in [(RATE / 2, RATE - d), (3 * RATE + RATE / 4, len - d)] {
            let before = energy(&noisy[a..b]);
            let after = energy(&out[a + d..b + d]);
            drops.push(db(before / after));
        }
        // Speech: the clean signal's share of the output, and the output's error against it.
        let (a, b) = (RATE + RATE / 4, 3 * RATE - RATE / 4);
        let speech_in = energy(&clean[a..b]);
        let snr_in = db(speech_in / energy(&n[a..b]));
        let err: f64 = (a..b)
            .map(|i| f64::from(out[i + d] - clean[i]).powi(2))
            .sum();
        let snr_out = db(speech_in / err);
        let kept = db(energy(&out[a + d..b + d]) / energy(&noisy[a..b]));
        eprintln!(
            "denoise: noise-only energy down {:.1} dB and {:.1} dB; speech segment SNR {snr_in:.1} -> {snr_out:.1} dB, its energy {kept:+.1} dB",
            drops[0], drops[1]
        );
        assert!(drops.iter().all(|&x| x > 10.0), "noise drops {drops:?}");
        assert!(kept > -6.0, "speech lost {kept:.1} dB");
        assert!(snr_out > snr_in, "SNR {snr_in:.1} -> {snr_out:.1}");
    }

    #[test]
    fn bad_frames_are_errors_and_nan_is_silence() {
        let mut d = Denoiser::new();
        let mut out = vec![0.0; 480];
        assert!(d.process_frame(&[0.0; 100], &mut out).is_err());
        assert!(d.process_frame(&[0.0; 480], &mut [0.0; 10]).is_err());
        let mut frame = [0.1f32; 480];
        frame[3] = f32::NAN;
        d.process_frame(&frame, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
        d.process_frame(&[0.1; 480], &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
