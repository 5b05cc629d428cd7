//! One viewer's WebRTC session: a str0m [`Rtc`] that only sends, driven with time passed in.
//!
//! str0m's contract (its crate docs, "The single-mutation invariant"): every mutation
//! (`handle_input`, `Writer::write`, ...) is followed by draining `poll_output` until it gives
//! a timeout. Every method here that mutates drains at once into [`Session::transmits`], so a
//! caller cannot break that rule. Nothing here reads a clock or touches a socket.
//!
//! Media: H.264 access units (Annex B, one per frame; str0m packetizes them per RFC 6184 with
//! STAP-A/FU-A) at 90 kHz and Opus packets as they are at 48 kHz (RFC 7587). Writes before
//! ICE and DTLS are up would be dropped by str0m, so video waits for the first keyframe after
//! [`SessionEvent::Connected`]. Every video packet carries the playout-delay extension with
//! min 0, which lets Chromium use its low-latency renderer.

use crate::error::Error;
use crate::sdp::Offered;
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::Extension;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

/// The RTP header extension id for playout-delay (any id unused by str0m's standard map).
const PLAYOUT_DELAY_ID: u8 = 12;
/// The playout-delay the receiver is asked for: min 0 (render as soon as decoded), max 100 ms
/// (Chromium's low-latency renderer needs min 0 and a max of at most 500 ms).
const PLAYOUT_MAX: Duration = Duration::from_millis(100);
/// A session that has not connected this long after the answer is dropped.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A connected session that heard nothing from its peer this long is dropped: browsers send
/// RTCP receiver reports about every second and STUN consent checks every few (RFC 7675 gives
/// up after 30 s; a viewer that vanished need not be kept that long).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Outgoing datagrams held between drains; past this the oldest are dropped (the caller
/// drains after every call, so this only bounds a caller that forgets).
const MAX_QUEUED: usize = 4096;

/// Where this server can be reached: a host candidate per local socket, and for each public
/// address a server-reflexive one based on the matching local socket.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// The local UDP sockets (one port, one address each).
    pub host: Vec<SocketAddr>,
    /// `(public address, local socket it forwards to)`, from `--public-ip`.
    pub public: Vec<(SocketAddr, SocketAddr)>,
}

/// One encoded unit to send: the shared bytes (one allocation for every viewer) and its times.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Annex B access unit or Opus packet, shared by every session.
    pub data: Arc<[u8]>,
    /// Capture time on the stream's media clock (RTP time derives from it).
    pub pts: Duration,
    /// The same capture instant on the monotonic clock (RTCP sender reports map it to NTP).
    pub captured: Instant,
    /// An IDR access unit (with SPS/PPS).
    pub keyframe: bool,
}

impl Unit {
    /// A unit from hub bytes: the one copy from `Bytes` to the `Arc<[u8]>` str0m takes, made
    /// once per unit and shared by every session.
    pub fn from_bytes(data: &Bytes, pts: Duration, captured: Instant, keyframe: bool) -> Unit {
        Unit {
            data: Arc::from(&data[..]),
            pts,
            captured,
            keyframe,
        }
    }
}

/// An outgoing datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket to send from.
    pub source: SocketAddr,
    /// The peer.
    pub destination: SocketAddr,
    /// The bytes.
    pub contents: Vec<u8>,
}

/// What the shell must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// ICE and DTLS are up; media may flow (the shell starts the viewer at a fresh keyframe).
    Connected,
    /// The viewer asked for a keyframe (PLI or FIR, RFC 4585 §6.3.1 / RFC 5104 §4.3.1).
    KeyframeWanted,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The client sent `DELETE`.
    Deleted,
    /// Never connected within [`CONNECT_TIMEOUT`].
    NeverConnected,
    /// Nothing heard from the peer for [`IDLE_TIMEOUT`], or ICE gave up: the peer vanished.
    Vanished,
    /// str0m closed it (DTLS close, a fatal error).
    Closed,
}

impl EndReason {
    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Deleted => "deleted by the client",
            EndReason::NeverConnected => "never connected",
            EndReason::Vanished => "the peer vanished (ICE timeout)",
            EndReason::Closed => "closed",
        }
    }
}

/// Counters of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Video access units handed to str0m.
    pub video_sent: u64,
    /// Video access units not sent (before connecting, waiting for a keyframe).
    pub video_dropped: u64,
    /// Opus packets handed to str0m.
    pub audio_sent: u64,
    /// PLI/FIR received.
    pub keyframe_requests: u64,
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
}

#[derive(Debug, Clone, Copy)]
struct Track {
    mid: Mid,
    pt: Pt,
}

/// One viewer's session.
pub struct Session {
    rtc: Rtc,
    video: Option<Track>,
    audio: Option<Track>,
    created: Instant,
    connected: Option<Instant>,
    last_heard: Instant,
    /// Video waits for a keyframe (at the start, and after a write str0m refused).
    need_keyframe: bool,
    next_timeout: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    ended: Option<EndReason>,
    stats: SessionStats,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("video", &self.video.is_some())
            .field("audio", &self.audio.is_some())
            .field("connected", &self.connected.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

/// What the answer negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// H.264 video is sent.
    pub video: bool,
    /// Opus audio is sent.
    pub audio: bool,
}

/// A DTLS certificate for the server's sessions (the answer's `a=fingerprint`).
pub fn server_cert() -> Option<DtlsCert> {
    str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
}

fn config() -> RtcConfig {
    RtcConfig::new()
        .clear_codecs()
        .enable_h264(true)
        .enable_opus(true, false)
        .set_extension(PLAYOUT_DELAY_ID, Extension::PlayoutDelay)
}

impl Session {
    /// Accepts a checked offer ([`crate::sdp::check_offer`]) and makes the answer, whose
    /// candidates are complete (no trickle ICE: WHEP `PATCH` is not needed).
    /// `cert` is the server's DTLS certificate, made once ([`server_cert`]) and shared by every
    /// session: making one per session costs more than the rest of the answer.
    pub fn accept(
        offer: SdpOffer,
        offered: Offered,
        endpoint: &Endpoint,
        cert: Option<&DtlsCert>,
        now: Instant,
    ) -> Result<(Session, SdpAnswer, Negotiated), Error> {
        let mut cfg = config();
        if let Some(c) = cert {
            cfg = cfg.set_dtls_cert(c.clone());
        }
        let mut rtc = cfg.build(now);
        let mut any = false;
        for addr in &endpoint.host {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                any |= rtc.add_local_candidate(c).is_some();
            }
        }
        for (public, base) in &endpoint.public {
            if let Ok(c) = Candidate::server_reflexive(*public, *base, "udp") {
                any |= rtc.add_local_candidate(c).is_some();
            }
        }
        if !any {
            return Err(Error::NoCandidates);
        }
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| crate::error::OfferError::Malformed(e.to_string()))?;
        let mut s = Session {
            rtc,
            video: None,
            audio: None,
            created: now,
            connected: None,
            last_heard: now,
            need_keyframe: true,
            next_timeout: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            ended: None,
            stats: SessionStats::default(),
        };
        s.rtc.handle_input(Input::Timeout(now))?;
        s.drain(|_| {});
        // The sections this server sends on, by the mids the offer gave them.
        for (video, mid) in offered.mids() {
            let mid = Mid::from(mid);
            let Some(media) = s.rtc.media(mid) else {
                continue;
            };
            if !media.direction().is_sending() {
                continue;
            }
            let kind = if video {
                MediaKind::Video
            } else {
                MediaKind::Audio
            };
            if media.kind() != kind {
                continue;
            }
            match s.pick_pt(mid, kind, &offered) {
                Some(pt) if video && s.video.is_none() => s.video = Some(Track { mid, pt }),
                Some(pt) if !video && s.audio.is_none() => s.audio = Some(Track { mid, pt }),
                _ => {}
            }
        }
        if s.video.is_none() && s.audio.is_none() {
            return Err(crate::error::OfferError::NoSupportedCodec {
                offered: "nothing str0m could negotiate".into(),
            }
            .into());
        }
        let neg = Negotiated {
            video: s.video.is_some(),
            audio: s.audio.is_some(),
        };
        Ok((s, answer, neg))
    }

    /// The payload type to send on `mid`: for video, H.264 with packetization-mode 1 (FU-A,
    /// needed for frames larger than a packet) and a baseline profile (what the encoder makes)
    /// first; for audio, Opus.
    fn pick_pt(&mut self, mid: Mid, kind: MediaKind, offered: &Offered) -> Option<Pt> {
        let w = self.rtc.writer(mid)?;
        let mut best: Option<(u8, Pt)> = None;
        for p in w.payload_params() {
            let spec = p.spec();
            let score = match (kind, spec.codec) {
                (MediaKind::Video, Codec::H264) if offered.h264 => {
                    let fp = spec.format;
                    let mode1 = fp.packetization_mode == Some(1);
                    let baseline = fp.profile_level_id.is_some_and(|id| id >> 16 == 0x42);
                    1 + u8::from(mode1) * 2 + u8::from(baseline)
                }
                (MediaKind::Audio, Codec::Opus) if offered.opus => 1,
                _ => 0,
            };
            if score > 0 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, p.pt()));
            }
        }
        best.map(|(_, pt)| pt)
    }

    /// Polls str0m until it gives a timeout, keeping datagrams and events.
    fn drain(&mut self, mut on_event: impl FnMut(&Event)) {
        loop {
            if !self.rtc.is_alive() {
                self.ended.get_or_insert(EndReason::Closed);
                return;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    if self.transmits.len() == MAX_QUEUED {
                        self.transmits.pop_front();
                    }
                    self.stats.datagrams_out += 1;
                    self.transmits.push_back(Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.to_vec(),
                    });
                }
                Ok(Output::Event(e)) => {
                    on_event(&e);
                    self.on_event(e);
                }
                Err(e) => {
                    tracing::debug!("str0m: {e}");
                    self.rtc.disconnect();
                    self.ended.get_or_insert(EndReason::Closed);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                // `last_heard` restarts: the idle clock runs from here.
                self.connected = Some(self.last_heard);
                self.events.push_back(SessionEvent::Connected);
            }
            Event::KeyframeRequest(_) => {
                self.stats.keyframe_requests += 1;
                self.events.push_back(SessionEvent::KeyframeWanted);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                if self.connected.is_some() =>
            {
                self.ended.get_or_insert(EndReason::Vanished);
            }
            _ => {}
        }
    }

    /// Whether a datagram is this session's (str0m's demultiplexing: the nominated peer
    /// address, or STUN with this session's ICE credentials).
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        Receive::new(Protocol::Udp, source, destination, contents)
            .is_ok_and(|r| self.rtc.accepts(&Input::Receive(self.created, r)))
    }

    /// A datagram from the peer. Garbage is ignored (str0m drops what it cannot parse).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        let Ok(r) = Receive::new(Protocol::Udp, source, destination, contents) else {
            return;
        };
        self.stats.datagrams_in += 1;
        self.last_heard = now;
        if self.rtc.handle_input(Input::Receive(now, r)).is_err() {
            tracing::debug!("str0m refused a datagram from {source}");
        }
        self.drain(|_| {});
    }

    /// Time passes: call at [`Session::next_timeout`] (earlier is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        if self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.ended.get_or_insert(EndReason::Closed);
            return;
        }
        self.drain(|_| {});
        if self.ended.is_none() {
            if self.connected.is_none()
                && now.saturating_duration_since(self.created) > CONNECT_TIMEOUT
            {
                self.ended = Some(EndReason::NeverConnected);
            } else if self.connected.is_some()
                && now.saturating_duration_since(self.last_heard) > IDLE_TIMEOUT
            {
                self.ended = Some(EndReason::Vanished);
            }
        }
    }

    /// Sends one H.264 access unit. Returns whether it went out: before the connection is up,
    /// and after that until the first keyframe, units are dropped (str0m would drop them, and a
    /// decoder cannot start on a delta frame).
    pub fn write_video(&mut self, unit: &Unit) -> bool {
        let Some(track) = self.video else {
            return false;
        };
        if self.connected.is_none()
            || self.ended.is_some()
            || (self.need_keyframe && !unit.keyframe)
        {
            self.stats.video_dropped += 1;
            return false;
        }
        let rtp = MediaTime::new(
            (unit.pts.as_nanos() * 90_000 / 1_000_000_000) as u64,
            Frequency::NINETY_KHZ,
        );
        let Some(w) = self.rtc.writer(track.mid) else {
            return false;
        };
        let res = w
            .playout_delay(
                MediaTime::ZERO,
                MediaTime::from_millis(PLAYOUT_MAX.as_millis() as u64),
            )
            .write(track.pt, unit.captured, rtp, unit.data.clone());
        let ok = res.is_ok();
        if ok {
            self.need_keyframe = false;
            self.stats.video_sent += 1;
        } else {
            self.need_keyframe = true;
            self.stats.video_dropped += 1;
        }
        self.drain(|_| {});
        ok
    }

    /// Sends one Opus packet (dropped before the connection is up).
    pub fn write_audio(&mut self, unit: &Unit) -> bool {
        let Some(track) = self.audio else {
            return false;
        };
        if self.connected.is_none() || self.ended.is_some() {
            return false;
        }
        let rtp = MediaTime::new(
            (unit.pts.as_nanos() * 48_000 / 1_000_000_000) as u64,
            Frequency::FORTY_EIGHT_KHZ,
        );
        let Some(w) = self.rtc.writer(track.mid) else {
            return false;
        };
        let ok = w
            .write(track.pt, unit.captured, rtp, unit.data.clone())
            .is_ok();
        if ok {
            self.stats.audio_sent += 1;
        }
        self.drain(|_| {});
        ok
    }

    /// Ends the session now (the client's `DELETE`, or the server stopping).
    pub fn close(&mut self, reason: EndReason) {
        self.rtc.disconnect();
        self.ended.get_or_insert(reason);
    }

    /// Takes the datagrams to send.
    pub fn transmits(&mut self) -> impl Iterator<Item = Transmit> + '_ {
        self.transmits.drain(..)
    }

    /// Takes the next event for the shell.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] is due next.
    pub fn next_timeout(&self) -> Instant {
        self.next_timeout
    }

    /// Why the session is over, once it is.
    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected.is_some() && self.ended.is_none()
    }

    /// Video will be sent from the next keyframe on (the shell asked the encoder for one).
    pub fn wait_for_keyframe(&mut self) {
        self.need_keyframe = true;
    }

    /// The counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }
}
