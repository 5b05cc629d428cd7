//! One publisher's WebRTC session (WHIP, RFC 9725): a str0m [`Rtc`] that only receives, driven
//! with time passed in, the mirror of [`crate::session`].
//!
//! The offer is checked first ([`check_publish_offer`], RFC 9725 §4.2: the body of the `POST`
//! is an SDP offer): it must send H.264 video (every output relays the publisher's H.264 as it
//! is, so another codec would need a transcode this server does not do); Opus audio is taken
//! when offered. str0m depacketizes RTP (RFC 6184 for H.264, RFC 7587 for Opus) into whole
//! access units and packets, which come out as [`PublisherEvent`]s for the shell to put into
//! the stream's hubs. A keyframe request ([`Publisher::request_keyframe`]) becomes a PLI
//! (RFC 4585 §6.3.1) to the publisher. Garbage datagrams are dropped by str0m.

use crate::error::{Error, OfferError};
use crate::sdp::{Direction, Section, check_text, scan};
use crate::session::Endpoint;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer};
pub use str0m::config::DtlsCert;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

/// A publisher that has not connected this long after the answer is dropped.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// A connected publisher that sent nothing this long is dropped (it sends 30 frames a second
/// and RTCP; ten silent seconds mean it has gone).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Outgoing datagrams (RTCP, STUN, DTLS) held between drains.
const MAX_QUEUED: usize = 1024;
/// Received units held between drains; past this the oldest are dropped (the shell drains
/// after every call, so this only bounds one that forgets).
const MAX_EVENTS: usize = 256;

/// What a WHIP offer sends that this server takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishOffered {
    /// The mid of the section that sends H.264.
    video: String,
    /// The mid of a section that sends Opus, if any.
    audio: Option<String>,
    /// The SSRCs the offer announces (`a=ssrc:`, RFC 5576 §4.1); when there are any, RTP
    /// from any other SSRC is dropped before str0m sees it (a forged stream would otherwise
    /// be taken for the track named in its mid header extension).
    ssrcs: Vec<u32>,
}

impl PublishOffered {
    /// Whether the publisher offers sound.
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }
}

fn sends(dir: Direction) -> bool {
    matches!(dir, Direction::SendRecv | Direction::SendOnly)
}

/// Checks a WHIP offer's bytes (the same size, text and line limits as a WHEP offer) and what
/// it sends, then parses it with str0m.
pub fn check_publish_offer(body: &[u8]) -> Result<(SdpOffer, PublishOffered), OfferError> {
    let text = check_text(body)?;
    let (session_dir, sections) = scan(text)?;
    let mut offered = summarize(session_dir, &sections)?;
    offered.ssrcs = text
        .lines()
        .filter_map(|l| l.strip_prefix("a=ssrc:"))
        .filter_map(|l| l.split(' ').next()?.trim().parse().ok())
        .collect();
    offered.ssrcs.sort_unstable();
    offered.ssrcs.dedup();
    let offer =
        SdpOffer::from_sdp_string(text).map_err(|e| OfferError::Malformed(e.to_string()))?;
    Ok((offer, offered))
}

fn summarize(
    session_dir: Option<Direction>,
    sections: &[Section],
) -> Result<PublishOffered, OfferError> {
    let media: Vec<&Section> = sections
        .iter()
        .filter(|s| s.kind == "audio" || s.kind == "video")
        .collect();
    if media.is_empty() {
        return Err(OfferError::NoMedia);
    }
    let has = |s: &Section, c: &str| s.codecs.iter().any(|x| x == c);
    let dir = |s: &Section| s.direction.or(session_dir).unwrap_or(Direction::SendRecv);
    let h264: Vec<&&Section> = media
        .iter()
        .filter(|s| s.kind == "video" && has(s, "h264"))
        .collect();
    if h264.is_empty() {
        let mut offered: Vec<&str> = media
            .iter()
            .flat_map(|s| s.codecs.iter().map(String::as_str))
            .collect();
        offered.sort_unstable();
        offered.dedup();
        offered.truncate(16);
        let offered = if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        };
        return Err(OfferError::NoH264Video { offered });
    }
    let Some(video) = h264.iter().find(|s| sends(dir(s))) else {
        return Err(OfferError::NotSending);
    };
    let Some(video_mid) = video.mid.clone() else {
        return Err(OfferError::Malformed(
            "the H.264 section has no a=mid (RFC 8843)".into(),
        ));
    };
    let audio = media
        .iter()
        .find(|s| s.kind == "audio" && has(s, "opus") && sends(dir(s)))
        .and_then(|s| s.mid.clone());
    Ok(PublishOffered {
        video: video_mid,
        audio,
        ssrcs: Vec::new(),
    })
}

/// What the shell must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublisherEvent {
    /// ICE and DTLS are up.
    Connected,
    /// One H.264 access unit (Annex B), as str0m reassembled it.
    Video {
        /// The access unit.
        data: Arc<[u8]>,
        /// str0m saw an IDR in it.
        keyframe: bool,
        /// No packet was lost since the previous unit (else a decoder must wait for a
        /// keyframe: the shell drops units until one and asks for it).
        contiguous: bool,
        /// Its RTP time (90 kHz), as a duration since RTP time 0.
        rtp_time: Duration,
        /// When its first packet arrived.
        arrived: Instant,
    },
    /// One Opus packet.
    Audio {
        /// The packet.
        data: Arc<[u8]>,
        /// Its RTP time (48 kHz), as a duration since RTP time 0.
        rtp_time: Duration,
        /// When it arrived.
        arrived: Instant,
    },
}

/// A jump between a publisher's RTP clock and this machine's larger than this (a restarted
/// encoder, a wrapped 32-bit timestamp, clocks drifting apart) starts the mapping over.
const RESYNC: Duration = Duration::from_secs(1);

/// Maps one track's RTP times to this machine's clock, so that published media carries the
/// time it was captured, with the publisher's own spacing, instead of network jitter
/// (RFC 3550 §5.1: the RTP timestamp is the sampling instant). The capture of a unit is its RTP
/// time plus the smallest arrival-minus-RTP offset seen so far (the packet that crossed the
/// network fastest); times never go backwards. Sans-IO: arrival times are passed in.
#[derive(Debug, Clone, Default)]
pub struct RtpClock {
    /// The first arrival: the origin of the microsecond counts below.
    base: Option<Instant>,
    /// Smallest `arrival - rtp` seen, in microseconds.
    offset: Option<i128>,
    /// The last time handed out, in microseconds since `base`.
    last: Option<i128>,
}

impl RtpClock {
    /// The local instant at which the unit with `rtp` time, arrived at `arrived`, was captured
    /// (never after `arrived`).
    pub fn map(&mut self, rtp: Duration, arrived: Instant) -> Instant {
        let base = *self.base.get_or_insert(arrived);
        let arrival = arrived.saturating_duration_since(base).as_micros() as i128;
        let rtp = rtp.as_micros() as i128;
        let seen = arrival - rtp;
        let offset = match self.offset {
            Some(o) if seen < o => seen,
            Some(o) if seen - o > RESYNC.as_micros() as i128 => seen,
            Some(o) => o,
            None => seen,
        };
        self.offset = Some(offset);
        let mut at = (rtp + offset).min(arrival);
        if let Some(last) = self.last {
            // A faster packet lowered the offset: hold the time still rather than go back.
            at = at.max(last);
        }
        self.last = Some(at);
        base + Duration::from_micros(u64::try_from(at.max(0)).unwrap_or(0))
    }
}

/// Why a publisher's session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherEnd {
    /// The client sent `DELETE`.
    Deleted,
    /// Another publisher took the stream over (`?takeover=1`).
    Replaced,
    /// Never connected within [`CONNECT_TIMEOUT`].
    NeverConnected,
    /// Nothing heard for [`IDLE_TIMEOUT`], or ICE gave up.
    Vanished,
    /// str0m closed it (DTLS close, a fatal error), or the server stopped.
    Closed,
}

impl PublisherEnd {
    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PublisherEnd::Deleted => "deleted by the client",
            PublisherEnd::Replaced => "replaced by a new publisher",
            PublisherEnd::NeverConnected => "never connected",
            PublisherEnd::Vanished => "the publisher vanished (ICE timeout)",
            PublisherEnd::Closed => "closed",
        }
    }
}

/// Counters of one publisher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Access units received.
    pub video_units: u64,
    /// Of those, keyframes.
    pub keyframes: u64,
    /// Units after a loss.
    pub gaps: u64,
    /// Opus packets received.
    pub audio_packets: u64,
    /// PLIs sent.
    pub plis: u64,
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Units str0m could not depacketize (dropped; video then waits for a keyframe).
    pub malformed: u64,
    /// RTP packets from an SSRC the offer did not announce (dropped).
    pub foreign_ssrc: u64,
}

/// One publisher's session.
pub struct Publisher {
    rtc: Rtc,
    video: Mid,
    audio: Option<Mid>,
    created: Instant,
    connected: Option<Instant>,
    last_heard: Instant,
    next_timeout: Instant,
    transmits: VecDeque<crate::session::Transmit>,
    events: VecDeque<PublisherEvent>,
    ended: Option<PublisherEnd>,
    stats: PublisherStats,
    /// The offer's SSRCs (empty: any is taken).
    ssrcs: Vec<u32>,
    /// A video unit was lost to a depacketizing error: the next one is not contiguous.
    video_broken: bool,
}

/// The SSRC of an RTP packet (RFC 3550 §5.1), `None` for RTCP (RFC 5761 §4: payload types
/// 64-95 with the marker bit), STUN, DTLS and anything shorter than a header.
fn rtp_ssrc(d: &[u8]) -> Option<u32> {
    if d.len() < 12 || d[0] >> 6 != 2 || (192..=223).contains(&d[1]) {
        return None;
    }
    Some(u32::from_be_bytes([d[8], d[9], d[10], d[11]]))
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("connected", &self.connected.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Publisher {
    /// Accepts a checked offer and makes the answer (candidates complete, no trickle ICE).
    pub fn accept(
        offer: SdpOffer,
        offered: &PublishOffered,
        endpoint: &Endpoint,
        cert: Option<&DtlsCert>,
        now: Instant,
    ) -> Result<(Publisher, SdpAnswer), Error> {
        let mut cfg = RtcConfig::new()
            .clear_codecs()
            .enable_h264(true)
            .enable_opus(true, false);
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
            .map_err(|e| OfferError::Malformed(e.to_string()))?;
        let receives = |rtc: &Rtc, mid: Mid, kind: MediaKind| {
            rtc.media(mid)
                .is_some_and(|m| m.kind() == kind && m.direction().is_receiving())
        };
        let video = Mid::from(offered.video.as_str());
        if !receives(&rtc, video, MediaKind::Video) {
            return Err(OfferError::NoH264Video {
                offered: "nothing str0m could negotiate".into(),
            }
            .into());
        }
        let audio = offered
            .audio
            .as_deref()
            .map(Mid::from)
            .filter(|m| receives(&rtc, *m, MediaKind::Audio));
        let mut p = Publisher {
            rtc,
            video,
            audio,
            created: now,
            connected: None,
            last_heard: now,
            next_timeout: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            ended: None,
            stats: PublisherStats::default(),
            ssrcs: offered.ssrcs.clone(),
            video_broken: false,
        };
        p.rtc.handle_input(Input::Timeout(now))?;
        p.drain();
        Ok((p, answer))
    }

    /// Whether sound was negotiated.
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    fn drain(&mut self) {
        loop {
            if !self.rtc.is_alive() {
                self.ended.get_or_insert(PublisherEnd::Closed);
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
                    self.transmits.push_back(crate::session::Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.to_vec(),
                    });
                }
                Ok(Output::Event(e)) => self.on_event(e),
                // One unit that does not depacketize (a malformed or forged payload): str0m
                // has dropped it; the session goes on.
                Err(str0m::RtcError::Packet(mid, _, e)) => {
                    tracing::debug!("publisher sent a unit that does not depacketize: {e}");
                    self.stats.malformed += 1;
                    self.video_broken |= mid == self.video;
                }
                Err(e) => {
                    tracing::debug!("str0m (publisher): {e}");
                    self.rtc.disconnect();
                    self.ended.get_or_insert(PublisherEnd::Closed);
                    return;
                }
            }
        }
    }

    fn push(&mut self, e: PublisherEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.connected = Some(self.last_heard);
                self.push(PublisherEvent::Connected);
            }
            Event::MediaData(d) if d.mid == self.video => {
                let keyframe = d.is_keyframe();
                let contiguous = d.contiguous && !std::mem::take(&mut self.video_broken);
                self.stats.video_units += 1;
                self.stats.keyframes += u64::from(keyframe);
                self.stats.gaps += u64::from(!contiguous);
                self.push(PublisherEvent::Video {
                    data: d.data,
                    keyframe,
                    contiguous,
                    rtp_time: d.time.into(),
                    arrived: d.network_time,
                });
            }
            Event::MediaData(d) if Some(d.mid) == self.audio => {
                self.stats.audio_packets += 1;
                self.push(PublisherEvent::Audio {
                    data: d.data,
                    rtp_time: d.time.into(),
                    arrived: d.network_time,
                });
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                if self.connected.is_some() =>
            {
                self.ended.get_or_insert(PublisherEnd::Vanished);
            }
            _ => {}
        }
    }

    /// Whether a datagram is this session's.
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        Receive::new(Protocol::Udp, source, destination, contents)
            .is_ok_and(|r| self.rtc.accepts(&Input::Receive(self.created, r)))
    }

    /// A datagram from the publisher.
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
        if let Some(ssrc) = rtp_ssrc(contents)
            && !self.ssrcs.is_empty()
            && self.ssrcs.binary_search(&ssrc).is_err()
        {
            self.stats.foreign_ssrc += 1;
            return;
        }
        self.last_heard = now;
        if self.rtc.handle_input(Input::Receive(now, r)).is_err() {
            tracing::debug!("str0m refused a datagram from publisher {source}");
        }
        self.drain();
    }

    /// Time passes: call at [`Publisher::next_timeout`] (earlier is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ended.is_some() {
            return;
        }
        if self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.ended.get_or_insert(PublisherEnd::Closed);
            return;
        }
        self.drain();
        if self.ended.is_none() {
            let since = |t: Instant| now.saturating_duration_since(t);
            if self.connected.is_none() && since(self.created) > CONNECT_TIMEOUT {
                self.ended = Some(PublisherEnd::NeverConnected);
            } else if self.connected.is_some() && since(self.last_heard) > IDLE_TIMEOUT {
                self.ended = Some(PublisherEnd::Vanished);
            }
        }
    }

    /// Asks the publisher for a keyframe (a PLI on the video track). The shell rate-limits.
    pub fn request_keyframe(&mut self) -> bool {
        if self.connected.is_none() || self.ended.is_some() {
            return false;
        }
        let ok = self
            .rtc
            .writer(self.video)
            .is_some_and(|mut w| w.request_keyframe(None, KeyframeRequestKind::Pli).is_ok());
        if ok {
            self.stats.plis += 1;
        }
        self.drain();
        ok
    }

    /// Ends the session now.
    pub fn close(&mut self, reason: PublisherEnd) {
        self.rtc.disconnect();
        self.ended.get_or_insert(reason);
    }

    /// Takes the datagrams to send.
    pub fn transmits(&mut self) -> impl Iterator<Item = crate::session::Transmit> + '_ {
        self.transmits.drain(..)
    }

    /// Takes the next event.
    pub fn poll_event(&mut self) -> Option<PublisherEvent> {
        self.events.pop_front()
    }

    /// When [`Publisher::handle_timeout`] is due next.
    pub fn next_timeout(&self) -> Instant {
        self.next_timeout
    }

    /// Why the session is over, once it is.
    pub fn ended(&self) -> Option<PublisherEnd> {
        self.ended
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected.is_some() && self.ended.is_none()
    }

    /// The counters.
    pub fn stats(&self) -> PublisherStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO_H264: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0 1\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
        a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n\
        a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n\
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
        a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n\
        a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn takes_h264_and_opus_that_are_sent() {
        let (_, o) = check_publish_offer(VIDEO_H264.as_bytes()).unwrap();
        assert_eq!(o.video, "0");
        assert_eq!(o.audio.as_deref(), Some("1"));
        assert!(o.ssrcs.is_empty());
        let with = VIDEO_H264.replace(
            "a=rtpmap:111 opus/48000/2\r\n",
            "a=rtpmap:111 opus/48000/2\r\na=ssrc:42 cname:x\r\na=ssrc:7 msid:a b\r\na=ssrc:42 msid:a b\r\n",
        );
        assert_eq!(
            check_publish_offer(with.as_bytes()).unwrap().1.ssrcs,
            [7, 42]
        );
    }

    #[test]
    fn tells_rtp_from_rtcp_stun_and_dtls() {
        let mut rtp = [0u8; 12];
        rtp[0] = 0x80;
        rtp[1] = 0x66;
        rtp[8..12].copy_from_slice(&42u32.to_be_bytes());
        assert_eq!(rtp_ssrc(&rtp), Some(42));
        rtp[1] = 0xe6; // marker + 102
        assert_eq!(rtp_ssrc(&rtp), Some(42));
        rtp[1] = 200; // RTCP sender report
        assert_eq!(rtp_ssrc(&rtp), None);
        assert_eq!(
            rtp_ssrc(&[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0]),
            None
        );
        assert_eq!(rtp_ssrc(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(rtp_ssrc(&[0x80, 0x66]), None);
    }

    #[test]
    fn refuses_what_cannot_be_relayed() {
        let vp8 = VIDEO_H264.replace("H264/90000", "VP8/90000").replace(
            "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n",
            "",
        );
        assert!(matches!(
            check_publish_offer(vp8.as_bytes()),
            Err(OfferError::NoH264Video { offered }) if offered.contains("vp8")
        ));
        let audio_only = VIDEO_H264.split("m=audio").collect::<Vec<_>>();
        let audio_only = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio{}",
            audio_only[1]
        );
        assert!(matches!(
            check_publish_offer(audio_only.as_bytes()),
            Err(OfferError::NoH264Video { .. })
        ));
        let recv = VIDEO_H264.replace("a=sendonly", "a=recvonly");
        assert_eq!(
            check_publish_offer(recv.as_bytes()).unwrap_err(),
            OfferError::NotSending
        );
        let huge = format!("{VIDEO_H264}{}", "a=x\r\n".repeat(10_000));
        assert_eq!(
            check_publish_offer(huge.as_bytes()).unwrap_err().status(),
            413
        );
        assert_eq!(
            check_publish_offer(b"\x00\x01garbage")
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            check_publish_offer(b"v=0\r\ns=-\r\n").unwrap_err(),
            OfferError::NoMedia
        );
    }

    #[test]
    fn answers_a_publish_offer_and_ignores_garbage() {
        let (offer, o) = check_publish_offer(VIDEO_H264.as_bytes()).unwrap();
        let ep = Endpoint {
            host: vec!["127.0.0.1:5000".parse().unwrap()],
            public: vec![],
        };
        let now = Instant::now();
        let (mut p, answer) = Publisher::accept(offer, &o, &ep, None, now).unwrap();
        let sdp = answer.to_sdp_string();
        assert!(sdp.contains("a=recvonly"), "{sdp}");
        assert!(sdp.contains("H264/90000"), "{sdp}");
        assert!(p.has_audio());
        let peer: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        p.handle_datagram(now, peer, ep.host[0], &[0x80, 0x60, 1, 2, 3]);
        p.handle_datagram(now, peer, ep.host[0], &[0xff; 1200]);
        assert!(p.ended().is_none());
        assert!(p.poll_event().is_none());
        assert!(!p.request_keyframe(), "no PLI before connecting");
        p.handle_timeout(now + CONNECT_TIMEOUT + Duration::from_secs(1));
        assert_eq!(p.ended(), Some(PublisherEnd::NeverConnected));
    }

    #[test]
    fn rtp_times_keep_the_publishers_spacing() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut c = RtpClock::default();
        let rtp0 = Duration::from_secs(1000);
        assert_eq!(c.map(rtp0, t0), t0);
        // 33 ms later in RTP time, arrived 50 ms later (jitter): stamped 33 ms after the first.
        assert_eq!(c.map(rtp0 + ms(33), t0 + ms(50)), t0 + ms(33));
        // Arrived only 20 ms after its capture would say: a faster path, the offset drops, and
        // the time never goes back past the last one handed out.
        let t = c.map(rtp0 + ms(66), t0 + ms(56));
        assert_eq!(t, t0 + ms(56));
        let t = c.map(rtp0 + ms(99), t0 + ms(120));
        assert_eq!(t, t0 + ms(89), "66 ms RTP -> 56 ms local: 99 ms -> 89 ms");
        // A jump (a new encoder, a wrapped timestamp): mapped anew from its arrival.
        let t = c.map(Duration::from_secs(5), t0 + ms(200));
        assert_eq!(t, t0 + ms(200));
        let t = c.map(Duration::from_secs(5) + ms(33), t0 + ms(240));
        assert_eq!(t, t0 + ms(233));
    }

    proptest::proptest! {
        /// Whatever arrives, the checks answer with an offer or a refusal that maps to a 4xx.
        #[test]
        fn any_body_gets_an_answer(body in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            if let Err(e) = check_publish_offer(&body) {
                proptest::prop_assert!((400..500).contains(&e.status()));
            }
        }

        /// Lines of a real offer, shuffled and cut: never a panic.
        #[test]
        fn mangled_offers_get_an_answer(keep in proptest::collection::vec(proptest::bool::ANY, 40)) {
            let lines: Vec<&str> = VIDEO_H264.split("\r\n").collect();
            let body: String = lines
                .iter()
                .zip(keep.iter().cycle())
                .filter(|(_, k)| **k)
                .map(|(l, _)| format!("{l}\r\n"))
                .collect();
            if let Err(e) = check_publish_offer(body.as_bytes()) {
                proptest::prop_assert!((400..500).contains(&e.status()));
            }
        }
    }
}
