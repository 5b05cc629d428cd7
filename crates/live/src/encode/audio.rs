//! The stream's sound thread: capture (or the tone, or silence while the microphone is
//! missing) -> 20 ms frames -> optional noise suppression -> Opus -> the audio hub and the
//! CMAF packager.
//!
//! A microphone that fails is replaced by silence at once (players keep a continuous audio
//! track) and reopened with backoff; the failure is logged once, its recovery once.

use super::framer::{FRAME, Framer};
use super::package::Packager;
use crate::av::AvOutputs;
use crate::clock;
use crate::error::LiveError;
use crate::source::tone::{ToneSource, samples_to_duration};
use crate::source::{AudioSource, mic};
use crate::spec::AudioSpec;
use crate::stream::lock;
use crate::unit::{MediaKind, MediaUnit};
use bytes::Bytes;
use homestream_codec::{AudioEncoder, Denoiser, OpusEncoder};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the thread needs to know about its stream.
#[derive(Debug, Clone)]
pub struct AudioJob {
    /// Stream name, for log lines.
    pub name: String,
    /// Where the sound comes from.
    pub spec: AudioSpec,
    /// Opus bitrate.
    pub bitrate_bps: u32,
    /// The instant the stream's video source started (the tone's beeps count from it).
    pub start: Instant,
}

/// The Opus encoder settings of a stream.
pub fn opus_encoder(bitrate_bps: u32) -> Result<OpusEncoder, LiveError> {
    OpusEncoder::new(homestream_codec::OpusConfig {
        bitrate_bps,
        channels: 1,
    })
    .map_err(|e| LiveError::Encode(format!("opus: {e}")))
}

fn open(job: &AudioJob) -> Result<Box<dyn AudioSource>, LiveError> {
    Ok(match &job.spec {
        AudioSpec::Tone => Box::new(ToneSource::new(job.start)),
        AudioSpec::Mic { name, .. } => Box::new(mic::MicSource::open(name.as_deref())?),
    })
}

/// Runs until `stop` is set (checked at least every chunk, 20 ms).
pub fn run(job: AudioJob, av: &AvOutputs, packager: &Mutex<Packager>, stop: &AtomicBool) {
    let denoise = matches!(job.spec, AudioSpec::Mic { denoise: true, .. });
    let mut source: Option<Box<dyn AudioSource>> = None;
    let mut silence: Option<ToneSource> = None;
    let mut failing: Option<String> = None;
    let mut retry_at = Instant::now();
    let mut backoff = Duration::from_millis(500);
    let mut framer = Framer::new();
    let mut encoder: Option<OpusEncoder> = None;
    let mut denoiser = denoise.then(Denoiser::new);
    while !stop.load(Ordering::Acquire) {
        if source.is_none() && Instant::now() >= retry_at {
            match open(&job) {
                Ok(s) => {
                    source = Some(s);
                    silence = None;
                    backoff = Duration::from_millis(500);
                    match failing.take() {
                        Some(_) => tracing::info!(stream = %job.name, "sound recovered"),
                        None => tracing::info!(stream = %job.name, "sound opened"),
                    }
                }
                Err(e) => {
                    let e = e.to_string();
                    if failing.as_deref() != Some(e.as_str()) {
                        tracing::warn!(stream = %job.name, error = %e, "sound failed; playing silence");
                    }
                    failing = Some(e);
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        let chunk = match source.as_mut() {
            Some(s) => match s.next_chunk() {
                Ok(c) => c,
                Err(e) => {
                    let e = e.to_string();
                    tracing::warn!(stream = %job.name, error = %e, "sound failed; playing silence");
                    failing = Some(e);
                    source = None;
                    retry_at = Instant::now() + backoff;
                    continue;
                }
            },
            None => match silence.get_or_insert_with(ToneSource::silence).next_chunk() {
                Ok(c) => c,
                Err(_) => continue,
            },
        };
        if !av.audio_wanted() {
            encoder = None;
            framer = Framer::new();
            continue;
        }
        if encoder.is_none() {
            match opus_encoder(job.bitrate_bps) {
                Ok(e) => encoder = Some(e),
                Err(e) => {
                    tracing::warn!(stream = %job.name, error = %e, "opus encoder");
                    continue;
                }
            }
        }
        let Some(enc) = encoder.as_mut() else {
            continue;
        };
        for mut frame in framer.push(chunk.captured.pts, &chunk.samples) {
            if let Some(d) = denoiser.as_mut() {
                let mut out = Vec::with_capacity(FRAME);
                d.process(&frame.samples, &mut out);
                if out.len() == FRAME {
                    // RNNoise's output lags its input by DELAY samples: stamp what is heard.
                    frame.samples = out;
                    frame.pts = frame
                        .pts
                        .saturating_sub(samples_to_duration(Denoiser::DELAY as u64));
                }
            }
            let packet = match enc.encode(&frame.samples) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(stream = %job.name, error = %e, "opus encode failed");
                    continue;
                }
            };
            let wall = clock::wall_of(frame.pts);
            publish_packet(av, &packet, frame.pts, wall);
            if let Err(e) = lock(packager).audio(av, &packet, FRAME as u32, frame.pts, wall) {
                tracing::warn!(stream = %job.name, error = %e, "audio packaging failed");
            }
        }
    }
}

fn publish_packet(av: &AvOutputs, packet: &Bytes, pts: Duration, wall: std::time::SystemTime) {
    av.audio.publish(MediaUnit {
        seq: 0,
        kind: MediaKind::Opus {
            sample_rate: 48_000,
            channels: 1,
        },
        keyframe: true,
        captured: wall,
        pts,
        payload: packet.clone(),
    });
}
