//! Fuzzes what a WHEP `POST` body goes through: `check_offer` (the checks, then str0m's SDP
//! parser) and, for offers it lets through, `Sessions::create` (str0m negotiating the answer).
//! Half the inputs are raw bytes; the other half edit a real Chromium offer line by line
//! (replace, insert or cut a line with fuzzer bytes), which reaches the negotiation far more
//! often than random text does. Checks that nothing panics, that an accepted offer receives
//! H.264 or Opus and was not too large, and that the answer is SDP.

#![no_main]

use homestream_webrtc::{Endpoint, Sessions, check_offer, sdp::MAX_OFFER_BYTES};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::time::Instant;

const CHROMIUM: &str = include_str!("../../testdata/chromium-recvonly.sdp");

thread_local! {
    // Made once: the DTLS certificate costs more than the rest of an answer.
    static TABLE: RefCell<Sessions<()>> = RefCell::new(Sessions::new(
        Endpoint {
            host: vec!["127.0.0.1:3478".parse().unwrap()],
            public: vec![],
        },
        usize::MAX,
    ));
}

/// A Chromium offer with lines replaced, inserted or cut: `data` is a list of
/// `[op, line, len, bytes...]` edits.
fn edited(data: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = CHROMIUM.lines().map(|l| l.as_bytes().to_vec()).collect();
    let mut rest = data;
    while rest.len() >= 3 && !lines.is_empty() {
        let (op, at, len) = (
            rest[0] % 3,
            rest[1] as usize % lines.len(),
            rest[2] as usize,
        );
        let take = len.min(rest.len() - 3);
        let bytes = rest[3..3 + take].to_vec();
        rest = &rest[3 + take..];
        match op {
            0 => lines[at] = bytes,
            1 => lines.insert(at, bytes),
            _ => {
                lines.remove(at);
            }
        }
    }
    lines.join(&b"\r\n"[..])
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let body = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        edited(rest)
    };
    let Ok((offer, offered)) = check_offer(&body) else {
        return;
    };
    assert!(body.len() <= MAX_OFFER_BYTES);
    assert!(offered.h264 || offered.opus);
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if let Ok((id, answer, _)) = t.create(offer, offered, Instant::now(), ()) {
            assert!(answer.to_sdp_string().starts_with("v=0"));
            // Ended at once so that the table does not grow with the run.
            assert!(t.delete(&id));
            t.reap();
        }
    });
});
