//! Property tests: the playlist writer round-trips through the parser and keeps the RFC 8216bis
//! rules; the segmenter, fed any stream of frames (late ones, keyframes anywhere, sound
//! interleaved), makes playlists that validate, parts that add up to their segments, loses no
//! byte, and answers blocking reloads consistently with what the playlist lists.

use bytes::Bytes;
use homestream_hls::playlist::{MediaSegment, Part, ServerControl};
use homestream_hls::{
    Chunk, Config, Decision, Directive, Lookup, MediaPlaylist, Muxer, Name, Resource, Track,
};
use proptest::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn uri() -> impl Strategy<Value = String> {
    "[a-z0-9/._-]{1,24}".prop_filter("not a tag", |s| !s.starts_with('#'))
}

fn part() -> impl Strategy<Value = Part> {
    (1u64..=235_000, uri(), any::<bool>()).prop_map(|(us, uri, independent)| Part {
        duration: Duration::from_micros(us),
        uri,
        independent,
    })
}

fn segment(complete: bool) -> impl Strategy<Value = MediaSegment> {
    (
        any::<bool>(),
        proptest::option::of(uri()),
        proptest::option::of(0u64..4_000_000_000_000),
        proptest::collection::vec(part(), if complete { 0..8 } else { 1..8 }),
        (1u64..2_499_000, uri()),
    )
        .prop_map(
            move |(discontinuity, map, pdt, parts, (us, u))| MediaSegment {
                discontinuity,
                map,
                program_date_time: pdt
                    .map(|ms| UNIX_EPOCH + Duration::from_micros(ms * 1000 + 123)),
                parts,
                complete: complete.then(|| (Duration::from_micros(us), u)),
            },
        )
}

fn playlist() -> impl Strategy<Value = MediaPlaylist> {
    (
        proptest::collection::vec(segment(true), 1..8),
        proptest::option::of(segment(false)),
        any::<u64>(),
        0u64..1000,
        proptest::option::of(uri()),
        uri(),
    )
        .prop_map(|(mut segments, open, media_sequence, disc, hint, map)| {
            segments[0].map = Some(map);
            segments.extend(open);
            MediaPlaylist {
                target_duration: 2,
                server_control: ServerControl {
                    can_block_reload: true,
                    part_hold_back: Some(Duration::from_millis(705)),
                },
                part_target: Some(Duration::from_millis(235)),
                media_sequence,
                discontinuity_sequence: disc,
                segments,
                preload_hint: hint,
            }
        })
}

proptest! {
    #[test]
    fn playlists_round_trip(p in playlist()) {
        p.validate().unwrap();
        let text = p.write();
        let back = MediaPlaylist::parse(&text).unwrap();
        prop_assert_eq!(&back, &p.rounded());
        prop_assert_eq!(back.write(), text);
    }

    /// Whatever the input, the parser answers (an error or a playlist) and never panics.
    #[test]
    fn the_parser_takes_anything(p in playlist(), cut in any::<usize>(), junk in ".{0,40}") {
        let text = p.write();
        let at = text.char_indices().map(|(i, _)| i).nth(cut % text.len().max(1)).unwrap_or(0);
        let mangled = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let _ = MediaPlaylist::parse(&mangled);
        let _ = MediaPlaylist::parse(&junk);
    }
}

/// A frame of the simulated stream: lateness in µs (now and then up to most of a frame
/// interval), keyframe, and whether the stream has sound.
fn frames() -> impl Strategy<Value = Vec<(u64, bool)>> {
    let late = prop_oneof![9 => 0u64..4_000, 1 => 0u64..30_000];
    proptest::collection::vec((late, prop::bool::weighted(0.04)), 30..400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn the_segmenter_keeps_the_rules(frames in frames(), first_key in 0usize..5, sound in any::<bool>()) {
        let cfg = Config { keep_after_window: 1000, ..Config::default() };
        let mut m = Muxer::new(cfg.clone(), 7, 50).unwrap();
        m.set_init(1, Bytes::from_static(b"init"));
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut accepted: Vec<u32> = Vec::new();
        let mut id = 0u32;
        let mut audio_t = Duration::ZERO;
        for (i, (late, key)) in frames.iter().enumerate() {
            let pts = cfg.frame_interval * i as u32 + Duration::from_micros(*late);
            // Sound packets of 20 ms, each published once captured (before this frame).
            while sound && audio_t + Duration::from_millis(20) <= pts {
                id += 1;
                let r = m.push(Chunk { track: Track::Audio, keyframe: false, pts: audio_t, captured: t0 + audio_t, generation: 1, bytes: Bytes::copy_from_slice(&id.to_be_bytes()) });
                if !r.dropped { accepted.push(id); }
                audio_t += Duration::from_millis(20);
            }
            let keyframe = i == first_key || (*key && i > first_key) || (i > first_key && (i - first_key) % 30 == 0);
            id += 1;
            let r = m.push(Chunk { track: Track::Video, keyframe, pts, captured: t0 + pts, generation: 1, bytes: Bytes::copy_from_slice(&id.to_be_bytes()) });
            if !r.dropped { accepted.push(id); }
            prop_assert_eq!(r.dropped, i < first_key);
        }
        let store = m.store();
        // Every accepted byte is in exactly one part, in order (the open part excepted).
        let mut stored = Vec::new();
        for s in store.segments_held() {
            let mut whole = Vec::new();
            for p in &s.parts {
                prop_assert!(p.duration > Duration::ZERO);
                prop_assert!(p.duration <= cfg.part_target(), "part of {:?}", p.duration);
                whole.extend_from_slice(&p.bytes);
            }
            if let Some(d) = s.duration {
                prop_assert_eq!(d, s.parts.iter().map(|p| p.duration).sum::<Duration>());
                prop_assert!((d.as_secs_f64()).round() as u64 <= cfg.target_duration);
                match m.lookup(Name { run: 7, resource: Resource::Segment { msn: s.msn } }) {
                    Lookup::Segment(b) => prop_assert_eq!(b.concat(), whole.clone()),
                    other => prop_assert!(false, "segment {} is {:?}", s.msn, other),
                }
            }
            stored.extend(whole.chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])));
        }
        prop_assert!(accepted.starts_with(&stored), "stored parts are the accepted chunks in order");
        let Some(pl) = m.playlist() else {
            prop_assert!(store.last_complete().is_none());
            return Ok(());
        };
        pl.validate().unwrap();
        prop_assert_eq!(MediaPlaylist::parse(&pl.write()).unwrap(), pl.rounded());
        // Every part listed is there and a blocking request for it is answered at once; the
        // preload hint waits; far-future requests are refused.
        for (k, s) in pl.segments.iter().enumerate() {
            let msn = pl.media_sequence + k as u64;
            for (i, _) in s.parts.iter().enumerate() {
                prop_assert_eq!(m.decide(Directive::MsnPart(msn, i as u64), Duration::ZERO), Decision::Ready);
                let found = m.lookup(Name { run: 7, resource: Resource::Part { msn, part: i as u32 } });
                prop_assert!(matches!(found, Lookup::Part(_)));
            }
        }
        let hint = pl.preload_hint.clone().unwrap();
        let Some(Name { resource: Resource::Part { msn, part }, .. }) = Name::parse(hint.trim_start_matches("hls/")) else {
            panic!("hint {hint}");
        };
        prop_assert_eq!(m.decide(Directive::MsnPart(msn, u64::from(part)), Duration::ZERO), Decision::Wait);
        prop_assert_eq!(m.decide(Directive::MsnPart(msn, u64::from(part)), cfg.block_limit()), Decision::TimedOut);
        let hinted = m.lookup(Name { run: 7, resource: Resource::Part { msn, part } });
        prop_assert!(matches!(hinted, Lookup::Pending));
        let other_run = m.lookup(Name { run: 8, resource: Resource::Part { msn, part } });
        prop_assert!(matches!(other_run, Lookup::Gone));
        let last = pl.last_complete_msn().unwrap();
        prop_assert_eq!(m.decide(Directive::Msn(last), Duration::ZERO), Decision::Ready);
        prop_assert!(matches!(m.decide(Directive::Msn(last + 3), Duration::ZERO), Decision::BadRequest(_)));
        prop_assert!(matches!(m.decide(Directive::MsnPart(msn, u64::from(part) + 13), Duration::ZERO), Decision::BadRequest(_)));
        // The playlist spans at least the window (or everything made so far).
        let span: Duration = pl.segments.iter().filter_map(|s| s.complete.as_ref().map(|c| c.0)).sum();
        let all: Duration = store.segments_held().iter().filter_map(|s| s.duration).sum();
        prop_assert!(span >= cfg.window().min(all));
    }
}

#[test]
fn a_new_encode_is_a_discontinuity_with_its_own_map() {
    let cfg = Config::default();
    let mut m = Muxer::new(cfg.clone(), 1, 0).unwrap();
    m.set_init(1, Bytes::from_static(b"a"));
    let t0 = SystemTime::UNIX_EPOCH;
    let push = |m: &mut Muxer, i: u32, gen_: u32, key: bool| {
        let pts = cfg.frame_interval * i;
        m.push(Chunk {
            track: Track::Video,
            keyframe: key,
            pts,
            captured: t0 + pts,
            generation: gen_,
            bytes: Bytes::from_static(b"f"),
        })
    };
    for i in 0..40 {
        push(&mut m, i, 1, i % 30 == 0);
    }
    // Generation 2 before its init is known: dropped; then taken at its keyframe.
    assert!(push(&mut m, 40, 2, true).dropped);
    m.set_init(2, Bytes::from_static(b"b"));
    for i in 41..120 {
        push(&mut m, i, 2, (i - 41) % 30 == 0);
    }
    let text = m.playlist().unwrap().write();
    let maps: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("#EXT-X-MAP"))
        .collect();
    assert_eq!(
        maps,
        [
            "#EXT-X-MAP:URI=\"hls/00000001-i1.mp4\"",
            "#EXT-X-MAP:URI=\"hls/00000001-i2.mp4\""
        ]
    );
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
    let after = text.split("#EXT-X-DISCONTINUITY\n").nth(1).unwrap();
    assert!(after.starts_with("#EXT-X-MAP:URI=\"hls/00000001-i2.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:"));
}

#[test]
fn exact_text_of_a_short_stream() {
    let cfg = Config::default();
    let mut m = Muxer::new(cfg.clone(), 0xdeadbeef, 9).unwrap();
    m.set_init(1, Bytes::from_static(b"i"));
    let t0 = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    for i in 0..45u32 {
        let pts = Duration::from_millis(1000) * i / 30;
        m.push(Chunk {
            track: Track::Video,
            keyframe: i % 30 == 0,
            pts,
            captured: t0 + pts,
            generation: 1,
            bytes: Bytes::from_static(b"f"),
        });
    }
    let expected = "#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.705
#EXT-X-PART-INF:PART-TARGET=0.235
#EXT-X-MEDIA-SEQUENCE:9
#EXT-X-MAP:URI=\"hls/deadbeef-i1.mp4\"
#EXT-X-PROGRAM-DATE-TIME:2026-11-30T00:53:20.000Z
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-9.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-9.1.m4s\"
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-9.2.m4s\"
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-9.3.m4s\"
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-9.4.m4s\"
#EXTINF:1.000,
hls/deadbeef-9.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-30T00:53:21.000Z
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-10.0.m4s\",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI=\"hls/deadbeef-10.1.m4s\"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"hls/deadbeef-10.2.m4s\"
";
    assert_eq!(m.playlist().unwrap().write(), expected);
    // Hostile directives: far future refused, part without msn refused, junk refused.
    assert!(matches!(
        m.decide(Directive::Msn(12), Duration::ZERO),
        Decision::BadRequest(_)
    ));
    assert_eq!(m.decide(Directive::Msn(11), Duration::ZERO), Decision::Wait);
    assert!(Directive::from_query(None, Some("1")).is_err());
    for junk in ["", "-1", "1.5", "0x10", "99999999999999999999999"] {
        assert!(Directive::from_query(Some(junk), None).is_err(), "{junk}");
    }
    assert_eq!(
        Directive::from_query(Some("10"), Some("2")).unwrap(),
        Directive::MsnPart(10, 2)
    );
    // A part index past the end of a complete segment is the next segment's part 0.
    assert_eq!(
        m.decide(Directive::MsnPart(9, 5), Duration::ZERO),
        Decision::Ready
    );
    assert_eq!(
        m.decide(Directive::MsnPart(9, 99), Duration::ZERO),
        Decision::Ready
    );
    assert_eq!(
        m.decide(Directive::MsnPart(10, 2), Duration::ZERO),
        Decision::Wait
    );
}
