use super::*;
use proptest::prelude::*;

const CHROMIUM: &str = include_str!("../../testdata/chromium-recvonly.sdp");

#[test]
fn a_chromium_offer_is_accepted_with_both_tracks() {
    let (_, offered) = check_offer(CHROMIUM.as_bytes()).expect("accepted");
    assert!(offered.h264 && offered.opus);
    assert_eq!(
        offered.mids().collect::<Vec<_>>(),
        [(true, "0"), (false, "1")]
    );
}

#[test]
fn empty_and_blank_bodies_are_refused() {
    assert_eq!(check_offer(b"").unwrap_err(), OfferError::Empty);
    assert_eq!(check_offer(b" \r\n\t").unwrap_err(), OfferError::Empty);
}

#[test]
fn a_huge_offer_is_refused_with_413() {
    let mut big = CHROMIUM.to_string();
    while big.len() <= MAX_OFFER_BYTES {
        big.push_str("a=x-padding:0123456789abcdef0123456789abcdef\r\n");
    }
    let e = check_offer(big.as_bytes()).unwrap_err();
    assert!(matches!(e, OfferError::TooLarge { .. }), "{e}");
    assert_eq!(e.status(), 413);
}

#[test]
fn binary_garbage_is_refused_with_the_offending_byte() {
    let e = check_offer(b"v=0\r\n\x00\x01\x02").unwrap_err();
    assert_eq!(e, OfferError::NotText { at: 5, byte: 0 });
    assert_eq!(e.status(), 400);
    let e = check_offer(b"v=0\r\ns=\xff\xfe\r\n").unwrap_err();
    assert_eq!(e, OfferError::NotText { at: 7, byte: 0xff });
    assert!(e.to_string().contains("not text"), "{e}");
}

#[test]
fn text_that_is_not_sdp_is_refused() {
    assert_eq!(
        check_offer(b"{\"type\":\"offer\"}").unwrap_err(),
        OfferError::NotSdp
    );
    assert_eq!(check_offer(b"hello world").unwrap_err(), OfferError::NotSdp);
}

#[test]
fn an_offer_without_media_is_refused_with_422() {
    let e = check_offer(b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n").unwrap_err();
    assert_eq!(e, OfferError::NoMedia);
    assert_eq!(e.status(), 422);
    // A data channel alone is no media to play.
    let dc = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
              m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
    assert_eq!(check_offer(dc.as_bytes()).unwrap_err(), OfferError::NoMedia);
}

#[test]
fn unknown_codecs_only_are_refused_naming_them() {
    let vp8_only: String = CHROMIUM
        .lines()
        .filter(|l| !l.contains("H264") && !l.contains("opus"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let e = check_offer(vp8_only.as_bytes()).unwrap_err();
    let OfferError::NoSupportedCodec { offered } = &e else {
        panic!("{e}")
    };
    assert!(
        offered.contains("vp8") && offered.contains("pcmu"),
        "{offered}"
    );
    assert_eq!(e.status(), 422);
}

#[test]
fn a_sendonly_offer_is_refused() {
    let sendonly = CHROMIUM.replace("a=recvonly", "a=sendonly");
    assert_eq!(
        check_offer(sendonly.as_bytes()).unwrap_err(),
        OfferError::NotReceiving
    );
    // Video inactive, audio receiving: audio only.
    let audio_only = CHROMIUM.replacen("a=recvonly", "a=inactive", 1);
    let (_, o) = check_offer(audio_only.as_bytes()).unwrap();
    assert!(!o.h264 && o.opus);
    assert_eq!(o.mids().collect::<Vec<_>>(), [(false, "1")]);
}

#[test]
fn too_many_media_sections_are_refused() {
    let mut s = String::from("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    for i in 0..=MAX_MEDIA {
        s.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:{i}\r\na=rtpmap:111 opus/48000/2\r\n"
        ));
    }
    assert!(matches!(
        check_offer(s.as_bytes()).unwrap_err(),
        OfferError::TooMany { .. }
    ));
}

#[test]
fn sdp_that_str0m_cannot_parse_is_refused_as_malformed() {
    let broken = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                  m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n";
    let e = check_offer(broken.as_bytes()).unwrap_err();
    assert!(matches!(e, OfferError::Malformed(_)), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes: an answer or an error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = check_offer(&body);
    }

    /// The Chromium offer with lines dropped, duplicated or cut: never a panic, and an offer
    /// that is accepted always asks for something this server sends.
    #[test]
    fn mangled_offers_never_panic(
        ops in proptest::collection::vec((0usize..140, 0u8..3, 0usize..80), 0..12)
    ) {
        let mut lines: Vec<String> = CHROMIUM.lines().map(str::to_string).collect();
        for (i, op, cut) in ops {
            if lines.is_empty() { break; }
            let i = i % lines.len();
            match op {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                _ => { let l = &mut lines[i]; let c = cut.min(l.len()); l.truncate(c); }
            }
        }
        let body = lines.join("\r\n");
        if let Ok((_, o)) = check_offer(body.as_bytes()) {
            prop_assert!(o.h264 || o.opus);
        }
    }
}
