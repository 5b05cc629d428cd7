//! Fuzzes the multipart parser: arbitrary bytes, split into chunks at fuzzer-chosen points,
//! under several boundary styles and both body modes. Checks the parser never panics, never
//! hands over a part above the size limit, and never hands over more bytes than it was given.

#![no_main]

use homestream_mjpeg::{Limits, Parser};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [&str; 4] = [
    "multipart/x-mixed-replace; boundary=frame",
    "multipart/x-mixed-replace; boundary=--myboundary",
    "multipart/x-mixed-replace;boundary=\"a\"",
    "multipart/x-mixed-replace; boundary=homestream-frame",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let ct = CONTENT_TYPES[data[0] as usize % CONTENT_TYPES.len()];
    let use_length = data[1] & 1 == 0;
    let step = 1 + data[2] as usize;
    let body = &data[3..];
    let limits = Limits { max_part: 4096, max_headers: 512 };
    let mut p = Parser::from_content_type(ct).expect("valid content type").with_limits(limits).use_content_length(use_length);
    let mut total = 0usize;
    let mut failed = false;
    for chunk in body.chunks(step) {
        p.push(chunk);
        loop {
            match p.next_part() {
                Ok(Some(part)) => {
                    assert!(part.body.len() <= limits.max_part);
                    total += part.body.len();
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
    }
    if !failed {
        if let Ok(Some(part)) = p.finish() {
            assert!(part.body.len() <= limits.max_part);
            total += part.body.len();
        }
    }
    // Parts are slices of the input: they can never add up to more than it.
    assert!(total <= body.len());
});
