//! A str0m client (what a WHEP player does) against a [`Session`], over a simulated network
//! with time moved forward by the test, faster than real time: the answer negotiates H.264 and
//! Opus, nothing is sent before ICE connects, video starts at a keyframe, the frames arrive
//! byte for byte, a PLI reaches the shell, and a peer that goes silent is reaped.

use homestream_webrtc::{EndReason, Endpoint, SessionEvent, Sessions, Transmit, Unit, check_offer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const SERVER: &str = "127.0.0.1:3478";
const CLIENT: &str = "127.0.0.1:50000";

struct Client {
    rtc: Rtc,
    video: Mid,
    audio: Mid,
    frames: Vec<(Mid, Vec<u8>)>,
    /// Playout-delay min of each video frame, as the receiver read it.
    delay_min: Vec<Option<str0m::media::MediaTime>>,
    connected: bool,
}

impl Client {
    fn poll(&mut self, out: &mut Vec<Transmit>) {
        loop {
            match self.rtc.poll_output().expect("client poll") {
                Output::Timeout(_) => return,
                Output::Transmit(t) => out.push(Transmit {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.to_vec(),
                }),
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(d)) => {
                    if d.mid == self.video {
                        self.delay_min.push(d.ext_vals.play_delay_min);
                    }
                    self.frames.push((d.mid, d.data.to_vec()))
                }
                Output::Event(_) => {}
            }
        }
    }
}

/// An Annex B IDR access unit (SPS, PPS, slice) or a delta one, bigger than one packet so
/// that FU-A fragmentation is exercised, tagged with `n`.
fn access_unit(n: u8, key: bool) -> Vec<u8> {
    let mut au = Vec::new();
    if key {
        au.extend_from_slice(&[
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8,
        ]);
        au.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x0f, 0xc8]);
        au.extend_from_slice(&[0, 0, 0, 1, 0x65, 0x88, n]);
    } else {
        au.extend_from_slice(&[0, 0, 0, 1, 0x41, 0x9a, n]);
    }
    au.extend((0..3000u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(n) | 1));
    au
}

struct World {
    now: Instant,
    start: Instant,
    client: Client,
    table: Sessions<()>,
    id: homestream_webrtc::SessionId,
    events: Vec<SessionEvent>,
    /// Deliver datagrams from the client to the server (false: the client vanished).
    client_alive: bool,
}

impl World {
    fn new() -> World {
        let start = Instant::now();
        // Like Chromium, the client offers the playout-delay extension (str0m's own offer lacks it).
        let mut rtc = Rtc::builder()
            .set_extension(12, str0m::rtp::Extension::PlayoutDelay)
            .build(start);
        rtc.add_local_candidate(Candidate::host(CLIENT.parse().unwrap(), "udp").unwrap());
        let mut api = rtc.sdp_api();
        let video = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let audio = api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().expect("an offer");
        let sdp = offer.to_sdp_string();
        let (offer, offered) =
            check_offer(sdp.as_bytes()).expect("str0m's offer passes the checks");
        let endpoint = Endpoint {
            host: vec![SERVER.parse().unwrap()],
            public: vec![],
        };
        let mut table = Sessions::new(endpoint, 4);
        let (id, answer, neg) = table.create(offer, offered, start, ()).expect("accepted");
        assert!(neg.video && neg.audio, "H.264 and Opus negotiated: {neg:?}");
        let answer_sdp = answer.to_sdp_string();
        assert!(answer_sdp.contains("H264/90000"), "{answer_sdp}");
        assert!(answer_sdp.contains("opus/48000"), "{answer_sdp}");
        assert!(answer_sdp.contains("playout-delay"), "{answer_sdp}");
        assert!(
            answer_sdp.contains("a=candidate:") && answer_sdp.contains("127.0.0.1 3478"),
            "{answer_sdp}"
        );
        let answer = SdpAnswer::from_sdp_string(&answer_sdp).unwrap();
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("client takes the answer");
        World {
            now: start,
            start,
            client: Client {
                rtc,
                video,
                audio,
                frames: Vec::new(),
                delay_min: Vec::new(),
                connected: false,
            },
            table,
            id,
            events: Vec::new(),
            client_alive: true,
        }
    }

    /// One step of 5 ms: both sides' output delivered, timeouts handled.
    fn step(&mut self) {
        self.now += Duration::from_millis(5);
        let mut to_server = Vec::new();
        self.client.poll(&mut to_server);
        if self.client_alive {
            for t in to_server {
                assert_eq!(t.destination, SERVER.parse::<SocketAddr>().unwrap());
                self.table
                    .route(self.now, t.source, t.destination, &t.contents);
            }
        }
        self.table.handle_timeouts(self.now);
        let mut to_client = Vec::new();
        if let Some(e) = self.table.get_mut(&self.id) {
            to_client.extend(e.session.transmits());
            while let Some(ev) = e.session.poll_event() {
                self.events.push(ev);
            }
        }
        for t in to_client {
            let r = Receive::new(Protocol::Udp, t.source, t.destination, &t.contents).unwrap();
            if self.client_alive {
                self.client
                    .rtc
                    .handle_input(Input::Receive(self.now, r))
                    .unwrap();
                let mut ignore = Vec::new();
                self.client.poll(&mut ignore);
                for t in ignore {
                    self.table
                        .route(self.now, t.source, t.destination, &t.contents);
                }
            }
        }
        if self.client_alive {
            self.client
                .rtc
                .handle_input(Input::Timeout(self.now))
                .unwrap();
        }
    }

    fn unit(&self, data: Vec<u8>, key: bool) -> Unit {
        let pts = self.now - self.start;
        Unit {
            data: Arc::from(data),
            pts,
            captured: self.now,
            keyframe: key,
        }
    }

    fn session(&mut self) -> &mut homestream_webrtc::Session {
        &mut self.table.get_mut(&self.id).expect("session").session
    }
}

#[test]
fn a_str0m_viewer_connects_and_gets_frames_from_a_keyframe_on() {
    let mut w = World::new();
    // Before ICE: writes are dropped, not queued.
    let early = w.unit(access_unit(0, true), true);
    assert!(!w.session().write_video(&early));
    for _ in 0..400 {
        w.step();
        if w.client.connected && w.events.contains(&SessionEvent::Connected) {
            break;
        }
    }
    assert!(w.client.connected, "client connected");
    assert!(
        w.events.contains(&SessionEvent::Connected),
        "server connected"
    );
    // Connected: a delta frame first is dropped (no keyframe yet), then a keyframe and deltas
    // go out, 30 fps; audio every 20 ms.
    let delta = w.unit(access_unit(1, false), false);
    assert!(!w.session().write_video(&delta));
    let mut sent = Vec::new();
    for n in 2..32u8 {
        let au = access_unit(n, n == 2);
        let u = w.unit(au.clone(), n == 2);
        assert!(w.session().write_video(&u), "frame {n} written");
        sent.push(au);
        let a = w.unit(vec![0xfc, n, n, n], true);
        assert!(w.session().write_audio(&a));
        for _ in 0..7 {
            w.step();
        }
    }
    for _ in 0..40 {
        w.step();
    }
    let video: Vec<&Vec<u8>> = w
        .client
        .frames
        .iter()
        .filter(|(m, _)| *m == w.client.video)
        .map(|(_, d)| d)
        .collect();
    let audio = w
        .client
        .frames
        .iter()
        .filter(|(m, _)| *m == w.client.audio)
        .count();
    assert_eq!(video.len(), sent.len(), "every frame arrived");
    for (got, want) in video.iter().zip(&sent) {
        // str0m's depacketizer writes 4-byte start codes, as the access units have.
        assert_eq!(got.len(), want.len());
        assert!(**got == *want, "frame bytes differ");
    }
    assert!(audio >= 28, "audio packets arrived: {audio}");
    assert!(
        w.client
            .delay_min
            .iter()
            .all(|d| d.is_some_and(|d| d.is_zero())),
        "every frame asks for playout delay min 0: {:?}",
        w.client.delay_min
    );
    let st = w.session().stats();
    assert_eq!(st.video_sent, 30);
    assert_eq!(st.video_dropped, 2);

    // A PLI from the viewer reaches the shell as KeyframeWanted.
    w.events.clear();
    let mid = w.client.video;
    let mut writer = w.client.rtc.writer(mid).expect("receiver's writer");
    assert!(writer.is_request_keyframe_possible(KeyframeRequestKind::Pli));
    writer
        .request_keyframe(None, KeyframeRequestKind::Pli)
        .unwrap();
    for _ in 0..50 {
        w.step();
    }
    assert!(
        w.events.contains(&SessionEvent::KeyframeWanted),
        "{:?}",
        w.events
    );
    assert_eq!(w.session().stats().keyframe_requests, 1);

    // DELETE ends it; the table reaps it as deleted.
    assert!(w.table.delete(&w.id.clone()));
    let reaped = w.table.reap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].2, EndReason::Deleted);
    assert!(w.table.is_empty());
    assert_eq!(w.table.stats().deleted, 1);
}

#[test]
fn a_viewer_that_vanishes_is_reaped() {
    let mut w = World::new();
    for _ in 0..400 {
        w.step();
        if w.client.connected && w.events.contains(&SessionEvent::Connected) {
            break;
        }
    }
    assert!(w.client.connected);
    w.client_alive = false;
    let gone = w.now;
    let mut reaped = Vec::new();
    while reaped.is_empty() && w.now - gone < Duration::from_secs(60) {
        w.step();
        reaped = w.table.reap();
    }
    assert_eq!(reaped.len(), 1, "reaped within a minute");
    assert_eq!(reaped[0].2, EndReason::Vanished);
    let after = w.now - gone;
    assert!(
        after <= homestream_webrtc::session::IDLE_TIMEOUT + Duration::from_secs(1),
        "{after:?}"
    );
    assert_eq!(w.table.stats().reaped, 1);
}

#[test]
fn a_viewer_that_never_connects_is_reaped() {
    let mut w = World::new();
    w.client_alive = false;
    let mut reaped = Vec::new();
    while reaped.is_empty() && w.now - w.start < Duration::from_secs(60) {
        w.step();
        reaped = w.table.reap();
    }
    assert_eq!(reaped[0].2, EndReason::NeverConnected);
}

#[test]
fn the_table_is_bounded() {
    let endpoint = Endpoint {
        host: vec![SERVER.parse().unwrap()],
        public: vec![],
    };
    let mut table: Sessions<()> = Sessions::new(endpoint, 1);
    let offer = || {
        let mut rtc = Rtc::builder().build(Instant::now());
        let mut api = rtc.sdp_api();
        api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, _) = api.apply().unwrap();
        check_offer(offer.to_sdp_string().as_bytes()).unwrap()
    };
    let (o, of) = offer();
    table.create(o, of, Instant::now(), ()).unwrap();
    let (o, of) = offer();
    let e = table.create(o, of, Instant::now(), ()).unwrap_err();
    assert!(e.to_string().contains("too many"), "{e}");
}

#[test]
fn a_public_address_is_offered_as_server_reflexive_on_its_local_socket() {
    let endpoint = Endpoint {
        host: vec!["192.168.1.5:3478".parse().unwrap()],
        public: vec![(
            "203.0.113.7:3478".parse().unwrap(),
            "192.168.1.5:3478".parse().unwrap(),
        )],
    };
    let mut table: Sessions<()> = Sessions::new(endpoint, 1);
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, _) = api.apply().unwrap();
    let (o, of) = check_offer(offer.to_sdp_string().as_bytes()).unwrap();
    let (_, answer, neg) = table.create(o, of, Instant::now(), ()).unwrap();
    assert!(neg.audio && !neg.video);
    let sdp = answer.to_sdp_string();
    assert!(sdp.contains("192.168.1.5 3478 typ host"), "{sdp}");
    // str0m does not reveal the base (raddr 0.0.0.0); it matches datagrams to it itself.
    assert!(sdp.contains("203.0.113.7 3478 typ srflx"), "{sdp}");
}
