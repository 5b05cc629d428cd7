//! The stream's one CMAF packager: turns each H.264 access unit and each Opus packet into a
//! fragment, once, for every fMP4 viewer; keeps the init segment in step with the encode.
//!
//! Track 1 is video (90 kHz, the RTP/HLS clock for video), track 2 is Opus (48 kHz, its only
//! rate). Decode times are the capture times on the process's media clock converted to each
//! track's timescale, so both tracks share one time line and stay in sync by construction.

use crate::av::{AvOutputs, InitSegment};
use crate::error::LiveError;
use crate::unit::{MediaKind, MediaUnit};
use bytes::Bytes;
use homestream_cmaf::{AvcConfig, Codec, Fragmenter, OpusConfig, Sample, Track};
use std::time::{Duration, SystemTime};

/// Track ids in the init segment.
pub const VIDEO_TRACK: u32 = 1;
/// Track ids in the init segment.
pub const AUDIO_TRACK: u32 = 2;
/// Video timescale (ticks per second).
pub const VIDEO_TIMESCALE: u32 = homestream_cmaf::init::VIDEO_TIMESCALE;
/// Audio timescale.
pub const AUDIO_TIMESCALE: u32 = homestream_cmaf::opus::OPUS_TIMESCALE;

/// `d` in ticks of `timescale`.
pub fn ticks(d: Duration, timescale: u32) -> u64 {
    (d.as_nanos() * timescale as u128 / 1_000_000_000) as u64
}

fn cmaf(e: homestream_cmaf::CmafError) -> LiveError {
    LiveError::Encode(format!("packaging: {e}"))
}

/// Packager state, shared by the stream's video and audio threads (behind a mutex, so that
/// fragments enter the hub in the order of their sequence numbers).
#[derive(Debug)]
pub struct Packager {
    fragmenter: Fragmenter,
    avc: Option<AvcConfig>,
    opus: Option<OpusConfig>,
    generation: u32,
    /// Decode time and duration of the last audio packet, to see gaps in the sound.
    last_audio: Option<(u64, u32)>,
}

impl Packager {
    /// A packager for a stream with (`opus` is `Some`) or without sound.
    pub fn new(opus: Option<OpusConfig>) -> Self {
        Packager {
            fragmenter: Fragmenter::new(),
            avc: None,
            opus,
            generation: 0,
            last_audio: None,
        }
    }

    fn tracks(&self, avc: &AvcConfig) -> Vec<Track> {
        let mut t = vec![Track {
            id: VIDEO_TRACK,
            codec: Codec::H264(avc.clone()),
        }];
        if let Some(o) = self.opus {
            t.push(Track {
                id: AUDIO_TRACK,
                codec: Codec::Opus(o),
            });
        }
        t
    }

    /// Packages one access unit (Annex B) and publishes it; a keyframe whose parameter sets
    /// differ from the current ones starts a new init segment first. Units before the first
    /// keyframe are dropped (nobody could decode them).
    pub fn video(
        &mut self,
        av: &AvOutputs,
        au: &Bytes,
        keyframe: bool,
        pts: Duration,
        duration: Duration,
        captured: SystemTime,
    ) -> Result<(), LiveError> {
        if keyframe {
            let avc = AvcConfig::from_access_unit(au).map_err(cmaf)?;
            if self.avc.as_ref() != Some(&avc) || av.current_init().is_none() {
                let tracks = self.tracks(&avc);
                let bytes = homestream_cmaf::init_segment(&tracks).map_err(cmaf)?;
                self.generation += 1;
                let (w, h) = (avc.parsed.width as u16, avc.parsed.height as u16);
                let mut codecs = vec![avc.codec_string()];
                if let Some(o) = &self.opus {
                    codecs.push(o.codec_string().to_string());
                }
                av.set_init(Some(InitSegment {
                    bytes,
                    mime: homestream_cmaf::mime_type(&tracks),
                    codecs,
                    width: w,
                    height: h,
                    generation: self.generation,
                }));
                self.avc = Some(avc);
            }
        }
        if self.avc.is_none() {
            return Ok(());
        }
        let data = homestream_cmaf::h264::to_avcc(au).map_err(cmaf)?;
        let sample = Sample {
            duration: ticks(duration, VIDEO_TIMESCALE).max(1) as u32,
            data,
            is_sync: keyframe,
        };
        let frag = self
            .fragmenter
            .fragment(
                VIDEO_TRACK,
                ticks(pts, VIDEO_TIMESCALE),
                &[sample],
                captured,
            )
            .map_err(cmaf)?;
        av.fmp4.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::Fragment {
                generation: self.generation,
            },
            keyframe,
            captured,
            pts,
            payload: frag,
        });
        Ok(())
    }

    /// Packages one Opus packet of `samples` samples captured from `pts` and publishes it.
    /// Before the first video keyframe there is no init segment to belong to: dropped.
    pub fn audio(
        &mut self,
        av: &AvOutputs,
        packet: &Bytes,
        samples: u32,
        pts: Duration,
        captured: SystemTime,
    ) -> Result<(), LiveError> {
        let Some(opus) = self.opus else {
            return Ok(());
        };
        if self.avc.is_none() {
            return Ok(());
        }
        // The decoder's first `pre_skip` samples are its look-ahead, not sound: the packet's
        // decode time is moved back by them so that what is heard lines up with the capture
        // clock.
        let t = ticks(pts, AUDIO_TIMESCALE).saturating_sub(opus.pre_skip as u64);
        // A gap in the sound (the capture fell behind and resynced) is, to Media Source
        // Extensions, a discontinuity of the whole fragment stream: the browser then drops
        // video up to the next keyframe. Ask for one now rather than wait up to a second.
        if let Some((last, dur)) = self.last_audio
            && (t < last || t - last > 2 * dur as u64)
        {
            av.request_keyframe(std::time::Instant::now());
        }
        self.last_audio = Some((t, samples));
        let sample = Sample {
            duration: samples,
            data: packet.clone(),
            is_sync: true,
        };
        let frag = self
            .fragmenter
            .fragment(AUDIO_TRACK, t, &[sample], captured)
            .map_err(cmaf)?;
        av.fmp4.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::Fragment {
                generation: self.generation,
            },
            keyframe: false,
            captured,
            pts,
            payload: frag,
        });
        Ok(())
    }

    /// Forgets the encode (the source was released); the next keyframe starts a new init.
    pub fn reset(&mut self) {
        self.avc = None;
        self.last_audio = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::video::VideoEncode;
    use crate::source::{Frame, Picture};
    use crate::spec::VideoEncoding;

    #[test]
    fn a_gap_in_the_sound_asks_for_a_keyframe() {
        let av = AvOutputs::new(true);
        let mut p = Packager::new(Some(OpusConfig::new(1, 312).unwrap()));
        let stamp = crate::clock::now();
        let frame = Frame {
            picture: Picture::Rgb(vec![40u8; 64 * 48 * 3]),
            width: 64,
            height: 48,
            captured: stamp,
        };
        let au = VideoEncode::new(VideoEncoding::default(), 30.0)
            .encode(&frame, true)
            .unwrap();
        p.video(&av, &au.annexb, true, stamp.pts, au.duration, stamp.wall)
            .unwrap();
        let packet = Bytes::from_static(&[0xf8, 0xff, 0xfe]);
        let mut requests = Vec::new();
        for ms in [0u64, 20, 40, 60, 140, 160, 180] {
            let pts = Duration::from_millis(1000 + ms);
            p.audio(&av, &packet, 960, pts, stamp.wall).unwrap();
            requests.push(av.take_keyframe_request());
        }
        assert_eq!(requests, [false, false, false, false, true, false, false]);
    }
}
