//! A `publish` stream: its picture and sound come from whoever publishes to it (WHIP), already
//! encoded. The publisher's H.264 access units and Opus packets go into the stream's hubs and
//! its one packager as they are (no re-encode), so WebRTC, MSE and LL-HLS viewers get them like
//! any other source's.
//!
//! One publisher at a time ([`Stream::claim_publisher`]): a second is refused while the first
//! sends, and may take over (`takeover`) once the first has been quiet for [`QUIET`]. While
//! nobody publishes (or the publisher has gone quiet for [`LIVE_WINDOW`]), the stream's
//! supervisor encodes the "no signal" picture once a second, as for a failed camera; the
//! publisher's next keyframe takes the picture back.
//!
//! MJPEG viewers and snapshots need pictures, not H.264: while the stream's JPEG hub has
//! consumers, the published access units also go (over a bounded channel, from a keyframe on)
//! to one decode thread per stream, which decodes them once (OpenH264) and encodes each picture
//! to JPEG once for the hub, as every other source's frames reach it. The thread ends when the
//! hub has no consumer left.

use super::{Stream, lock};
use crate::clock;
use crate::encode::video::{HOLD_FRAMES, VideoEncode};
use crate::source::test_pattern;
use crate::stream::SourceState;
use crate::unit::{MediaKind, MediaUnit};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A publisher that sent nothing this long has "gone quiet": another may take over.
pub const QUIET: Duration = Duration::from_secs(2);
/// The picture counts as live while the publisher's last unit is this recent; after that the
/// stream shows "no signal".
pub const LIVE_WINDOW: Duration = Duration::from_millis(1000);
/// The nominal frame interval of published video (browsers send 30 fps): fragments declare
/// [`HOLD_FRAMES`] of it as a sample's duration, as for the stream's own encode.
const NOMINAL_FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
/// The decoder delay Opus encoders put first (libopus's 312 samples at 48 kHz; WebRTC peers
/// do not signal it).
pub const PUBLISHED_OPUS_PRE_SKIP: u16 = 312;

/// Access units waiting for the decode thread; past this it has fallen behind, and starts
/// again at the next keyframe.
const DECODE_QUEUE: usize = 8;

/// The sending end of a stream's decode thread ([`Stream::feed_jpeg`]); dropping it ends the
/// thread.
#[derive(Debug)]
pub(crate) struct JpegFeed(std::sync::mpsc::SyncSender<(Bytes, clock::Stamp)>);

/// Decodes published access units and puts each picture into the JPEG hub, until the feed is
/// dropped.
fn decode_published(
    name: String,
    hub: crate::hub::Hub,
    units: std::sync::mpsc::Receiver<(Bytes, clock::Stamp)>,
) {
    let mut decoder = match homestream_codec::h264::H264Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(stream = %name, "no JPEG for MJPEG viewers: {e}");
            return;
        }
    };
    let mut last_error = None;
    while let Ok((au, stamp)) = units.recv() {
        let picture = match decoder.decode(&au) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                let e = e.to_string();
                if last_error.as_ref() != Some(&e) {
                    tracing::debug!(stream = %name, "published unit not decoded: {e}");
                    last_error = Some(e);
                }
                continue;
            }
        };
        let jpeg = match test_pattern::encode_jpeg(
            &picture.rgb,
            picture.width,
            picture.height,
            test_pattern::JPEG_QUALITY,
        ) {
            Ok(j) => j,
            Err(e) => {
                tracing::debug!(stream = %name, "decoded picture not encoded: {e}");
                continue;
            }
        };
        hub.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::Jpeg {
                width: picture.width,
                height: picture.height,
            },
            keyframe: true,
            captured: stamp.wall,
            pts: stamp.pts,
            payload: jpeg,
        });
    }
    tracing::debug!(stream = %name, "published-video decode ended (no MJPEG viewers)");
}

/// Who publishes now.
#[derive(Debug, Clone)]
pub(crate) struct PublisherSlot {
    id: u64,
    who: String,
    since: Instant,
    last_unit: Option<Instant>,
    /// Video waits for a keyframe (at the start, after a loss).
    need_keyframe: bool,
    /// SPS and PPS of the last keyframe that had them, put in front of an IDR that lacks them.
    parameter_sets: Option<Bytes>,
}

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    /// The stream is not a `publish` stream.
    #[error("stream {0:?} is not a publish stream (declare it with --live {0}=publish)")]
    NotPublishable(String),
    /// Someone publishes and is still sending.
    #[error(
        "{who} is already publishing to {name:?} (for {secs} s); one publisher at a time. \
         Add ?takeover=1 to replace a publisher that has stopped sending for {quiet} s"
    )]
    Busy {
        /// The stream.
        name: String,
        /// Who publishes.
        who: String,
        /// For how long.
        secs: u64,
        /// [`QUIET`] in seconds.
        quiet: u64,
    },
}

/// The result of a claim: the new publisher's id, and the one it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Pass it to [`Stream::publish_video`] and friends.
    pub id: u64,
    /// The publisher that was taken over, whose session the caller ends.
    pub replaced: Option<u64>,
}

/// Counts the samples of an Opus packet at 48 kHz from its TOC byte (RFC 6716 §3.1).
/// Hand-written: it is the only thing needed from the packet, and no Opus crate exposes it
/// without a decoder.
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame size in 48 kHz samples: SILK 10/20/40/60 ms, hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][(config % 4) as usize],
        12..=15 => [480, 960][(config % 2) as usize],
        _ => [120, 240, 480, 960][(config % 4) as usize],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let n = frame * frames;
    // At most 120 ms per packet (RFC 6716 §3.2.5).
    (frames > 0 && n <= 5760).then_some(n)
}

/// H.264 NAL unit types (ITU-T H.264 Table 7-1).
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// The last NAL unit type a browser, OBS or GStreamer sends in plain H.264 (12, filler data);
/// 13 and up are extensions (SVC, MVC, 3D) or reserved and unspecified values (Table 7-1).
const NAL_LAST_PLAIN: u8 = 12;

/// What [`scan_access_unit`] found in an access unit.
struct Scanned {
    idr: bool,
    sps: bool,
    /// At least one coded slice (types 1 to 5).
    slice: bool,
    /// The SPS+PPS NALs, with start codes.
    sets: Vec<u8>,
    /// The unit without the NAL units that were dropped, when any were.
    cleaned: Option<Vec<u8>>,
}

/// Scans a publisher's access unit and drops what no decoder should be given: NAL units with
/// the forbidden bit set (§7.4.1), types past [`NAL_LAST_PLAIN`] (a publisher's RTP is
/// depacketized as sent, so a malformed or forged one arrives here as it came), and an SPS that
/// does not parse (it would replace the good one the stream holds).
fn scan_access_unit(au: &[u8]) -> Scanned {
    let mut s = Scanned {
        idr: false,
        sps: false,
        slice: false,
        sets: Vec::new(),
        cleaned: None,
    };
    let mut kept = Vec::with_capacity(au.len());
    let mut dropped = false;
    for nal in homestream_codec::h264::split_annexb(au) {
        let forbidden = nal.first().is_some_and(|b| b & 0x80 != 0);
        let t = homestream_codec::h264::nal_unit_type(nal).unwrap_or(0);
        let ok = !forbidden
            && (1..=NAL_LAST_PLAIN).contains(&t)
            && (t != NAL_SPS || homestream_cmaf::h264::Sps::parse(nal).is_ok());
        if !ok {
            dropped = true;
            continue;
        }
        kept.extend_from_slice(&[0, 0, 0, 1]);
        kept.extend_from_slice(nal);
        match t {
            NAL_IDR => s.idr = true,
            NAL_SPS | NAL_PPS => {
                s.sps |= t == NAL_SPS;
                s.sets.extend_from_slice(&[0, 0, 0, 1]);
                s.sets.extend_from_slice(nal);
            }
            _ => {}
        }
        s.slice |= (1..=NAL_IDR).contains(&t);
    }
    if dropped {
        s.cleaned = Some(kept);
    }
    s
}

impl Stream {
    /// Whether this stream takes a publisher.
    pub fn is_publish(&self) -> bool {
        matches!(self.spec.video, crate::source::SourceSpec::Publish)
    }

    /// Makes `who` the stream's publisher: refused while another one sends; with `takeover`,
    /// replaces one that has been quiet for [`QUIET`].
    pub fn claim_publisher(
        &self,
        who: &str,
        takeover: bool,
        now: Instant,
    ) -> Result<Claim, PublishRefusal> {
        if !self.is_publish() {
            return Err(PublishRefusal::NotPublishable(self.name.clone()));
        }
        let mut slot = lock(&self.publisher);
        let mut replaced = None;
        if let Some(cur) = slot.as_ref() {
            let heard = cur.last_unit.unwrap_or(cur.since);
            let quiet = now.saturating_duration_since(heard) >= QUIET;
            if !(takeover && quiet) {
                return Err(PublishRefusal::Busy {
                    name: self.name.clone(),
                    who: cur.who.clone(),
                    secs: now.saturating_duration_since(cur.since).as_secs(),
                    quiet: QUIET.as_secs(),
                });
            }
            replaced = Some(cur.id);
        }
        let id = self.next_viewer.fetch_add(1, Ordering::Relaxed);
        *slot = Some(PublisherSlot {
            id,
            who: who.to_string(),
            since: now,
            last_unit: None,
            need_keyframe: true,
            parameter_sets: None,
        });
        tracing::info!(stream = %self.name, publisher = id, who, replaced, "publisher claimed the stream");
        Ok(Claim { id, replaced })
    }

    /// The publisher `id` has gone; the stream shows "no signal" until the next one.
    pub fn release_publisher(&self, id: u64) {
        let mut slot = lock(&self.publisher);
        if slot.as_ref().is_some_and(|s| s.id == id) {
            *slot = None;
            tracing::info!(stream = %self.name, publisher = id, "publisher left");
        }
    }

    /// Whether publisher `id` is current and has sent media within [`LIVE_WINDOW`].
    pub fn publisher_live(&self, now: Instant) -> bool {
        lock(&self.publisher).as_ref().is_some_and(|s| {
            s.last_unit
                .is_some_and(|t| now.saturating_duration_since(t) < LIVE_WINDOW)
        })
    }

    /// Takes a viewer's pending keyframe request, for the publisher's session to pass on as a
    /// PLI (requests are already rate-limited by [`crate::av::AvOutputs::request_keyframe`]).
    pub fn take_keyframe_request(&self) -> bool {
        self.av.take_keyframe_request()
    }

    /// One access unit from publisher `id`, received and stamped at `now`; see
    /// [`Stream::publish_video_at`].
    pub fn publish_video(&self, id: u64, au: Bytes, contiguous: bool, now: Instant) -> bool {
        self.publish_video_at(id, au, contiguous, now, now)
    }

    /// One access unit from publisher `id`, received at `now` (the publisher is live while
    /// units arrive) and captured at `captured` (its RTP time on this machine's clock: the
    /// hubs' and fragments' time). Returns `false` when the unit was dropped (not the current
    /// publisher, waiting for a keyframe): the caller then asks the publisher for one.
    pub fn publish_video_at(
        &self,
        id: u64,
        mut au: Bytes,
        contiguous: bool,
        now: Instant,
        captured: Instant,
    ) -> bool {
        let scanned = scan_access_unit(&au);
        let (idr, has_sps, sets) = (scanned.idr, scanned.sps, scanned.sets);
        if let Some(cleaned) = scanned.cleaned {
            tracing::debug!(stream = %self.name, "published unit: malformed NAL units dropped");
            if !scanned.slice {
                // Nothing but garbage: no picture was lost, so no keyframe is needed either.
                return lock(&self.publisher).as_ref().is_some_and(|s| s.id == id);
            }
            au = Bytes::from(cleaned);
        }
        let au = {
            let mut slot = lock(&self.publisher);
            let Some(s) = slot.as_mut().filter(|s| s.id == id) else {
                return false;
            };
            s.last_unit = Some(now);
            if !contiguous && !idr {
                s.need_keyframe = true;
            }
            if has_sps {
                s.parameter_sets = Some(Bytes::from(sets));
            }
            if s.need_keyframe && !idr {
                return false;
            }
            s.need_keyframe = false;
            match (&s.parameter_sets, idr && !has_sps) {
                (Some(ps), true) => {
                    let mut v = Vec::with_capacity(ps.len() + au.len());
                    v.extend_from_slice(ps);
                    v.extend_from_slice(&au);
                    Bytes::from(v)
                }
                (None, true) => {
                    // An IDR without parameter sets, none seen yet: nothing can decode it.
                    s.need_keyframe = true;
                    return false;
                }
                _ => au,
            }
        };
        let stamp = clock::at(captured);
        self.feed_jpeg(&au, idr, stamp);
        self.av.video.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::H264,
            keyframe: idr,
            captured: stamp.wall,
            pts: stamp.pts,
            payload: au.clone(),
        });
        let res = lock(&self.packager).video(
            &self.av,
            &au,
            idr,
            stamp.pts,
            NOMINAL_FRAME * HOLD_FRAMES,
            stamp.wall,
        );
        if let Err(e) = res {
            tracing::debug!(stream = %self.name, "published unit not packaged: {e}");
        }
        true
    }

    /// Hands an accepted access unit to the decode thread while MJPEG viewers or snapshots
    /// wait: started at a keyframe (one is asked for), ended when nobody watches MJPEG.
    fn feed_jpeg(&self, au: &Bytes, idr: bool, stamp: clock::Stamp) {
        let mut feed = lock(&self.published_jpeg);
        if self.hub.consumers() == 0 {
            *feed = None;
            return;
        }
        if feed.is_none() {
            if !idr {
                self.av.request_keyframe(Instant::now());
                return;
            }
            let (tx, rx) = std::sync::mpsc::sync_channel(DECODE_QUEUE);
            let (name, hub) = (self.name.clone(), self.hub.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("decode-{}", self.name))
                .spawn(move || decode_published(name, hub, rx));
            if let Err(e) = spawned {
                tracing::warn!(stream = %self.name, "no decode thread for MJPEG viewers: {e}");
                return;
            }
            *feed = Some(JpegFeed(tx));
        }
        let sent = feed
            .as_ref()
            .is_some_and(|f| f.0.try_send((au.clone(), stamp)).is_ok());
        if !sent {
            // Fallen behind (or gone): start over at the next keyframe.
            *feed = None;
        }
    }

    /// One Opus packet from publisher `id`, received at `now`.
    pub fn publish_audio(&self, id: u64, packet: Bytes, now: Instant) -> bool {
        self.publish_audio_at(id, packet, now)
    }

    /// One Opus packet from publisher `id`, captured at `captured` (its RTP time on this
    /// machine's clock).
    pub fn publish_audio_at(&self, id: u64, packet: Bytes, captured: Instant) -> bool {
        let Some(samples) = opus_samples(&packet) else {
            return false;
        };
        {
            let slot = lock(&self.publisher);
            if slot.as_ref().is_none_or(|s| s.id != id) {
                return false;
            }
        }
        let stamp = clock::at(captured);
        self.av.audio.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::Opus {
                sample_rate: 48_000,
                channels: 2,
            },
            keyframe: true,
            captured: stamp.wall,
            pts: stamp.pts,
            payload: packet.clone(),
        });
        let res = lock(&self.packager).audio(&self.av, &packet, samples, stamp.pts, stamp.wall);
        if let Err(e) = res {
            tracing::debug!(stream = %self.name, "published packet not packaged: {e}");
        }
        true
    }

    /// The supervisor of a `publish` stream: while it has demand, shows "no signal" whenever
    /// nobody publishes.
    pub(super) fn supervise_publish(self: Arc<Self>) {
        tracing::info!(stream = %self.name, "publish stream waiting for a publisher");
        let mut video = VideoEncode::new(self.spec.video_encoding, 30.0);
        let mut encode_error = None;
        let mut idle_since: Option<Instant> = None;
        let mut last_no_signal: Option<Instant> = None;
        let mut tick = Instant::now();
        loop {
            let now = Instant::now();
            if self.demand.load(Ordering::SeqCst) == 0 {
                let since = *idle_since.get_or_insert(now);
                let closing = self.closing.load(Ordering::SeqCst);
                if (closing || now - since >= self.grace) && self.try_release() {
                    break;
                }
            } else {
                idle_since = None;
            }
            if now - tick >= Duration::from_secs(1) {
                self.update_rates(0, now - tick);
                tick = now;
            }
            if self.publisher_live(now) {
                if lock(&self.health).state != SourceState::Live {
                    self.set_state(SourceState::Live, None);
                }
                last_no_signal = None;
            } else if last_no_signal.is_none_or(|t| now - t >= Duration::from_secs(1)) {
                let why = "nobody is publishing";
                if lock(&self.health).state != SourceState::NoSignal {
                    self.set_state(SourceState::NoSignal, Some(why.into()));
                }
                let (w, h) = lock(&self.health).size.unwrap_or((640, 360));
                // The viewers' decoders now follow the "no signal" encode: a publisher that
                // resumes must start again at a keyframe (it is asked for one when its next
                // unit is dropped).
                if let Some(p) = lock(&self.publisher).as_mut() {
                    p.need_keyframe = true;
                }
                let frame = test_pattern::no_signal(w, h, &self.name, why);
                self.emit(&frame, &mut video, &mut encode_error);
                last_no_signal = Some(now);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(video);
        *lock(&self.published_jpeg) = None;
        lock(&self.packager).reset();
        self.av.clear();
        self.hub.clear();
        self.set_state(SourceState::Idle, None);
        tracing::info!(stream = %self.name, "source released (no viewers)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_opus_samples() {
        // config 31 (CELT 20 ms), one frame.
        assert_eq!(opus_samples(&[31 << 3]), Some(960));
        // config 15 (hybrid 20 ms), two frames.
        assert_eq!(opus_samples(&[15 << 3 | 1]), Some(1920));
        // config 3 (SILK 60 ms), code 3 with 2 frames.
        assert_eq!(opus_samples(&[3 << 3 | 3, 2]), Some(5760));
        // code 3 with 3 frames of 60 ms: over 120 ms.
        assert_eq!(opus_samples(&[3 << 3 | 3, 3]), None);
        assert_eq!(opus_samples(&[]), None);
        assert_eq!(opus_samples(&[31 << 3 | 3, 0]), None);
    }

    fn stream(spec: &str) -> Arc<Stream> {
        Stream::new(
            "cam".into(),
            spec.parse().unwrap(),
            Duration::from_secs(1),
            None,
        )
        .unwrap()
    }

    /// Baseline 3.1, 640x360 (40x23 macroblocks, 8 rows cropped): one that parses.
    const SPS: &[u8] = &[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x40,
    ];
    const PPS: &[u8] = &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
    const IDR: &[u8] = &[0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00];
    const DELTA: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x00];

    #[test]
    fn one_publisher_at_a_time_and_takeover_when_quiet() {
        let s = stream("publish");
        let t0 = Instant::now();
        let a = s.claim_publisher("alice", false, t0).unwrap();
        assert_eq!(a.replaced, None);
        let busy = s.claim_publisher("bob", false, t0).unwrap_err();
        assert!(matches!(busy, PublishRefusal::Busy { ref who, .. } if who == "alice"));
        assert!(busy.to_string().contains("takeover=1"), "{busy}");
        // alice sends; a takeover is refused while she does.
        let au = Bytes::from([SPS, PPS, IDR].concat());
        assert!(s.publish_video(a.id, au, true, t0));
        assert!(
            s.claim_publisher("bob", true, t0 + Duration::from_secs(1))
                .is_err()
        );
        // Quiet for QUIET: bob takes over, alice's units are dropped from then on.
        let later = t0 + QUIET + Duration::from_millis(1);
        assert!(!s.publisher_live(later));
        let b = s.claim_publisher("bob", true, later).unwrap();
        assert_eq!(b.replaced, Some(a.id));
        assert!(!s.publish_video(a.id, Bytes::from_static(IDR), true, later));
        s.release_publisher(a.id);
        assert!(
            s.claim_publisher("carol", false, later).is_err(),
            "bob still holds it"
        );
        s.release_publisher(b.id);
        assert!(s.claim_publisher("carol", false, later).is_ok());
        assert!(matches!(
            stream("test").claim_publisher("x", false, t0),
            Err(PublishRefusal::NotPublishable(_))
        ));
    }

    #[test]
    fn video_starts_at_an_idr_with_parameter_sets() {
        let s = stream("publish");
        let t0 = Instant::now();
        let c = s.claim_publisher("alice", false, t0).unwrap();
        assert!(
            !s.publish_video(c.id, Bytes::from_static(DELTA), true, t0),
            "no keyframe yet"
        );
        assert!(
            !s.publish_video(c.id, Bytes::from_static(IDR), true, t0),
            "no SPS seen yet"
        );
        assert!(
            s.publisher_live(t0),
            "it sends, even if nothing could be used yet"
        );
        assert!(s.publish_video(c.id, Bytes::from([SPS, PPS, IDR].concat()), true, t0));
        assert!(s.publish_video(c.id, Bytes::from_static(DELTA), true, t0));
        // A bare IDR gets the last SPS and PPS in front.
        assert!(s.publish_video(c.id, Bytes::from_static(IDR), true, t0));
        let last = s.av.video.latest().unwrap();
        assert!(last.keyframe);
        assert_eq!(&last.payload[..], &[SPS, PPS, IDR].concat()[..]);
        // A loss: deltas are dropped until the next IDR.
        assert!(!s.publish_video(c.id, Bytes::from_static(DELTA), false, t0));
        assert!(!s.publish_video(c.id, Bytes::from_static(DELTA), true, t0));
        assert!(s.publish_video(c.id, Bytes::from_static(IDR), true, t0));
        assert!(!s.publisher_live(t0 + LIVE_WINDOW));
        // Sound from the publisher; garbage is refused.
        assert!(s.publish_audio(c.id, Bytes::from_static(&[31 << 3, 1, 2]), t0));
        assert!(!s.publish_audio(c.id, Bytes::new(), t0));
        assert!(!s.publish_audio(c.id + 1, Bytes::from_static(&[31 << 3, 1, 2]), t0));
    }

    #[test]
    fn malformed_nal_units_never_reach_viewers() {
        let s = stream("publish");
        let t0 = Instant::now();
        let c = s.claim_publisher("alice", false, t0).unwrap();
        assert!(s.publish_video(c.id, Bytes::from([SPS, PPS, IDR].concat()), true, t0));
        // Forged units among good ones: the forbidden bit, reserved and extension types, an
        // SPS that does not parse, an empty NAL.
        let forged: &[&[u8]] = &[
            &[0, 0, 0, 1, 0xe5, 1, 2, 3],
            &[0, 0, 0, 1, 0x1e, 9, 9],
            &[0, 0, 0, 1, 0x14, 9, 9],
            &[0, 0, 0, 1, 0x67, 0xff],
            &[0, 0, 0, 1, 0x00],
        ];
        let au = Bytes::from([forged.concat(), DELTA.to_vec()].concat());
        assert!(s.publish_video(c.id, au, true, t0));
        // (The delta's trailing zero byte goes with the split: it is not part of the NAL.)
        assert_eq!(&s.av.video.latest().unwrap().payload[..], &DELTA[..7]);
        // Nothing but garbage: dropped, and the good parameter sets stay.
        let seq = s.av.video.latest().unwrap().seq;
        assert!(s.publish_video(c.id, Bytes::from(forged.concat()), true, t0));
        assert_eq!(s.av.video.latest().unwrap().seq, seq, "nothing published");
        assert!(s.publish_video(c.id, Bytes::from_static(IDR), true, t0));
        assert_eq!(
            &s.av.video.latest().unwrap().payload[..],
            &[SPS, PPS, IDR].concat()[..]
        );
    }

    #[test]
    fn mjpeg_viewers_get_the_published_video_decoded_once() {
        use homestream_codec::h264::{H264Config, H264Encoder, VideoEncoder};
        let s = stream("publish");
        let t0 = Instant::now();
        let c = s.claim_publisher("alice", false, t0).unwrap();
        let mut enc = H264Encoder::new(H264Config::new(160, 96, 30)).unwrap();
        let black = homestream_codec::I420::black(160, 96).unwrap();
        // Without an MJPEG viewer nothing is decoded.
        let au = enc.encode(&black, true).unwrap();
        assert!(s.publish_video(c.id, au.annexb, true, t0));
        assert!(lock(&s.published_jpeg).is_none());
        let mut viewer = s.hub.subscribe(crate::hub::LagPolicy::SkipToNewest);
        // A delta first: the decode waits for a keyframe (and asks for one).
        let au = enc.encode(&black, false).unwrap();
        assert!(s.publish_video(c.id, au.annexb, true, t0));
        assert!(lock(&s.published_jpeg).is_none());
        assert!(s.take_keyframe_request(), "a keyframe was asked for");
        for i in 0..5 {
            let au = enc.encode(&black, i == 0).unwrap();
            assert!(s.publish_video(c.id, au.annexb, true, t0));
        }
        let end = Instant::now() + Duration::from_secs(5);
        let unit = loop {
            if let Ok(Some(u)) = viewer.try_next() {
                break u;
            }
            assert!(Instant::now() < end, "no JPEG reached the MJPEG viewer");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            unit.kind,
            MediaKind::Jpeg {
                width: 160,
                height: 96
            }
        );
        assert_eq!(&unit.payload[..2], &[0xff, 0xd8], "a JPEG");
        // The viewer leaves: the next unit ends the decode.
        drop(viewer);
        let au = enc.encode(&black, false).unwrap();
        assert!(s.publish_video(c.id, au.annexb, true, t0));
        assert!(lock(&s.published_jpeg).is_none());
    }
}
