//! Property: whatever offer `check_offer` lets through, `Sessions::create` answers it or
//! refuses it with an error, never panics; an answer is SDP whose candidates are the
//! endpoint's, and names H.264 (Opus) whenever the offer was counted as receiving it.
//! Offers are a real Chromium offer with lines replaced, inserted or cut (as the fuzz target
//! `fuzz/fuzz_targets/offer.rs` does with fuzzer bytes), so most cases reach the negotiation.

use homestream_webrtc::{Endpoint, Sessions, check_offer};
use proptest::prelude::*;
use std::time::Instant;

const CHROMIUM: &str = include_str!("../testdata/chromium-recvonly.sdp");

/// Lines an edit may put in: bits of real SDP and junk.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a=inactive".to_string()),
        Just("a=sendonly".to_string()),
        Just("a=rtpmap:96 VP8/90000".to_string()),
        Just("a=rtpmap:102 H264/90000".to_string()),
        Just("a=rtpmap:111 opus/48000/2".to_string()),
        Just("m=application 9 UDP/DTLS/SCTP webrtc-datachannel".to_string()),
        Just("m=video 9 UDP/TLS/RTP/SAVPF 96".to_string()),
        Just("a=mid:x".to_string()),
        Just("a=group:BUNDLE 0".to_string()),
        Just("a=fingerprint:sha-256 00".to_string()),
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn accepted_offers_are_answered_or_refused_never_panic(
        edits in proptest::collection::vec((0u8..3, 0usize..200, line()), 0..6)
    ) {
        let mut lines: Vec<String> = CHROMIUM.lines().map(str::to_string).collect();
        for (op, at, l) in edits {
            let at = at % lines.len().max(1);
            match op {
                0 if !lines.is_empty() => lines[at] = l,
                1 => lines.insert(at.min(lines.len()), l),
                _ if !lines.is_empty() => { lines.remove(at); }
                _ => {}
            }
        }
        let body = lines.join("\r\n") + "\r\n";
        let Ok((offer, offered)) = check_offer(body.as_bytes()) else { return Ok(()); };
        let (h264, opus) = (offered.h264, offered.opus);
        let mut table: Sessions<()> = Sessions::new(
            Endpoint { host: vec!["127.0.0.1:3478".parse().unwrap()], public: vec![] },
            4,
        );
        if let Ok((id, answer, _)) = table.create(offer, offered, Instant::now(), ()) {
            let sdp = answer.to_sdp_string();
            prop_assert!(sdp.starts_with("v=0"), "{}", sdp);
            prop_assert!(sdp.contains("127.0.0.1 3478 typ host"), "{}", sdp);
            // Counted as receiving -> the answer names the codec. Not the reverse: a section the
            // offer made `inactive`/`sendonly` is answered with its codecs listed and no media
            // sent (found by this test: an inserted `a=sendonly` in the video section).
            prop_assert!(!h264 || sdp.contains("H264/90000"), "{}", sdp);
            prop_assert!(!opus || sdp.to_ascii_lowercase().contains("opus/48000"), "{}", sdp);
            prop_assert!(table.delete(&id));
        }
    }
}
