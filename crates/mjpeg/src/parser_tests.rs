//! Parser tests on byte streams written the way real servers write them, each fed in every
//! possible two-chunk split and one byte at a time.

use crate::parser::{Limits, Parser, Part};
use crate::{Error, writer};
use std::time::{Duration, UNIX_EPOCH};

/// Deterministic fake JPEG: SOI, bytes that include CR, LF and dashes, EOI.
fn jpeg(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut v = vec![0xFF, 0xD8];
    for i in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(match i % 29 {
            3 => b'\r',
            4 => b'\n',
            5 | 6 => b'-',
            _ => x as u8,
        });
    }
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

fn frames() -> Vec<Vec<u8>> {
    vec![jpeg(1, 60), jpeg(2, 0), jpeg(3, 97)]
}

fn drain(p: &mut Parser, out: &mut Vec<Part>) {
    while let Some(part) = p.next_part().expect("parse") {
        out.push(part);
    }
}

/// Parses `stream` fed in the given chunks, then finishes.
fn parse_chunks<'a>(ct: &str, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Part> {
    let mut p = Parser::from_content_type(ct).expect("content type");
    let mut out = Vec::new();
    for c in chunks {
        p.push(c);
        drain(&mut p, &mut out);
    }
    out.extend(p.finish().expect("finish"));
    out
}

/// Feeds `stream` split at every offset and one byte at a time; every way must yield `want`.
fn check_all_splits(ct: &str, stream: &[u8], want: &[Vec<u8>]) -> Vec<Part> {
    let bodies = |parts: &[Part]| parts.iter().map(|p| p.body.to_vec()).collect::<Vec<_>>();
    for k in 0..=stream.len() {
        let parts = parse_chunks(ct, [&stream[..k], &stream[k..]]);
        assert_eq!(bodies(&parts), want, "split at {k}");
    }
    let parts = parse_chunks(ct, stream.chunks(1));
    assert_eq!(bodies(&parts), want, "byte at a time");
    parts
}

#[test]
fn homestream_writer() {
    let t0 = UNIX_EPOCH + Duration::from_micros(1_700_000_000_250_000);
    let mut s = b"preamble, ignored\r\n".to_vec();
    for (i, f) in frames().iter().enumerate() {
        s.extend_from_slice(&writer::part_head(
            "image/jpeg",
            f.len(),
            Some(t0 + Duration::from_secs(i as u64)),
        ));
        s.extend_from_slice(f);
        s.extend_from_slice(writer::PART_END);
    }
    let parts = check_all_splits(&writer::content_type(), &s, &frames());
    assert_eq!(parts[0].timestamp(), Some(t0));
    assert_eq!(parts[2].timestamp(), Some(t0 + Duration::from_secs(2)));
    assert_eq!(parts[1].content_type(), Some("image/jpeg"));
}

/// ffmpeg's mpjpeg muxer: `boundary=ffmpeg` without a space, lower-case `Content-length`, the
/// next delimiter written right after each frame (so the stream ends with a delimiter line).
fn ffmpeg_stream(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut s = b"--ffmpeg\r\n".to_vec();
    for f in frames {
        s.extend_from_slice(
            format!(
                "Content-type: image/jpeg\r\nContent-length: {}\r\n\r\n",
                f.len()
            )
            .as_bytes(),
        );
        s.extend_from_slice(f);
        s.extend_from_slice(b"\r\n--ffmpeg\r\n");
    }
    s
}

#[test]
fn ffmpeg_mpjpeg() {
    let s = ffmpeg_stream(&frames());
    check_all_splits("multipart/x-mixed-replace;boundary=ffmpeg", &s, &frames());
}

#[test]
fn mjpg_streamer() {
    let mut s = b"--boundarydonotcross\r\n".to_vec();
    for (i, f) in frames().iter().enumerate() {
        s.extend_from_slice(
            format!("Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: 1732176000.{i:06}\r\n\r\n", f.len())
                .as_bytes(),
        );
        s.extend_from_slice(f);
        s.extend_from_slice(b"\r\n--boundarydonotcross\r\n");
    }
    let parts = check_all_splits(
        "multipart/x-mixed-replace;boundary=boundarydonotcross",
        &s,
        &frames(),
    );
    assert_eq!(
        parts[2].timestamp(),
        Some(UNIX_EPOCH + Duration::from_micros(1_732_176_000_000_002))
    );
}

/// motion: `Content-type`, a space-padded `Content-Length: %9ld`, CRLF after each frame.
#[test]
fn motion() {
    let mut s = Vec::new();
    for f in frames() {
        s.extend_from_slice(
            format!(
                "--BoundaryString\r\nContent-type: image/jpeg\r\nContent-Length: {:9}\r\n\r\n",
                f.len()
            )
            .as_bytes(),
        );
        s.extend_from_slice(&f);
        s.extend_from_slice(b"\r\n");
    }
    check_all_splits(
        "multipart/x-mixed-replace; boundary=BoundaryString",
        &s,
        &frames(),
    );
}

/// IP cameras that declare `boundary=--myboundary` and write it as is, with Content-Length.
#[test]
fn ip_camera_dashes_in_parameter() {
    let mut s = Vec::new();
    for f in frames() {
        s.extend_from_slice(
            format!(
                "--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                f.len()
            )
            .as_bytes(),
        );
        s.extend_from_slice(&f);
        s.extend_from_slice(b"\r\n");
    }
    check_all_splits(
        "multipart/x-mixed-replace; boundary=--myboundary",
        &s,
        &frames(),
    );
}

/// The same camera without Content-Length, with bare LF line ends.
#[test]
fn ip_camera_bare_lf_no_length() {
    let mut s = Vec::new();
    for f in frames() {
        s.extend_from_slice(b"--myboundary\nContent-Type: image/jpeg\n\n");
        s.extend_from_slice(&f);
        s.extend_from_slice(b"\n");
    }
    check_all_splits(
        "multipart/x-mixed-replace; boundary=\"--myboundary\"",
        &s,
        &frames(),
    );
}

/// RFC 2046 as written: `--` + boundary (which here itself starts with dashes), preamble,
/// transport padding, closing delimiter and epilogue.
#[test]
fn rfc2046_with_preamble_padding_close_and_epilogue() {
    let mut s = b"This is the preamble.\r\n--myboundary is not it\r\n".to_vec();
    for f in frames() {
        s.extend_from_slice(b"----myboundary  \t\r\nCONTENT-TYPE: image/jpeg\r\n\r\n");
        s.extend_from_slice(&f);
        s.extend_from_slice(b"\r\n");
    }
    s.extend_from_slice(
        b"----myboundary--\r\nEpilogue: ignored\r\n----myboundary\r\n\r\nnot a frame",
    );
    check_all_splits(
        "multipart/x-mixed-replace; boundary=--myboundary",
        &s,
        &frames(),
    );
}

/// The seed's Flask server: no Content-Length. The last frame is delivered when the stream
/// ends, not lost waiting for a next delimiter.
#[test]
fn flask_style_last_frame_delivered_on_finish() {
    let mut s = Vec::new();
    for f in frames() {
        s.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        s.extend_from_slice(&f);
        s.extend_from_slice(b"\r\n");
    }
    check_all_splits("multipart/x-mixed-replace; boundary=frame", &s, &frames());
    // Cut inside the next delimiter: still the whole last frame.
    s.extend_from_slice(b"--fra");
    check_all_splits("multipart/x-mixed-replace; boundary=frame", &s, &frames());
}

/// With Content-Length, a frame is handed over the moment its last byte is in.
#[test]
fn sized_frame_emitted_without_waiting_for_next_delimiter() {
    let f = jpeg(9, 500);
    let mut s = format!(
        "--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: {}\r\n\r\n",
        f.len()
    )
    .into_bytes();
    s.extend_from_slice(&f);
    let mut p = Parser::from_content_type("multipart/x-mixed-replace;boundary=ffmpeg").unwrap();
    p.push(&s[..s.len() - 1]);
    assert_eq!(p.next_part().unwrap(), None);
    p.push(&s[s.len() - 1..]);
    assert_eq!(p.next_part().unwrap().map(|p| p.body.to_vec()), Some(f));
}

#[test]
fn lying_content_length_resynchronises() {
    let (a, b) = (jpeg(1, 50), jpeg(2, 50));
    let mut s = format!("--frame\r\nContent-Length: {}\r\n\r\n", a.len() - 10).into_bytes();
    s.extend_from_slice(&a);
    s.extend_from_slice(format!("\r\n--frame\r\nContent-Length: {}\r\n\r\n", b.len()).as_bytes());
    s.extend_from_slice(&b);
    s.extend_from_slice(b"\r\n--frame--\r\n");
    let mut p = Parser::from_content_type("multipart/x-mixed-replace; boundary=frame").unwrap();
    p.push(&s);
    let mut out = Vec::new();
    drain(&mut p, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].body[..], a[..a.len() - 10]);
    assert_eq!(out[1].body[..], b[..]);
    assert_eq!(p.resyncs(), 1);
    assert!(p.is_closed());
}

#[test]
fn oversize_parts_are_clear_errors() {
    let limits = Limits {
        max_part: 100,
        max_headers: 64,
    };
    let ct = "multipart/x-mixed-replace; boundary=frame";
    let mut p = Parser::from_content_type(ct).unwrap().with_limits(limits);
    p.push(b"--frame\r\nContent-Length: 101\r\n\r\n");
    let e = p.next_part().unwrap_err();
    assert!(
        matches!(
            e,
            Error::PartTooLarge {
                part: 0,
                limit: 100,
                declared: Some(101)
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "part 0 is larger than the 100-byte limit (Content-Length: 101)"
    );
    assert!(matches!(p.next_part(), Err(Error::ParserFailed)));

    let mut p = Parser::from_content_type(ct).unwrap().with_limits(limits);
    p.push(b"--frame\r\n\r\n");
    p.push(&[b'x'; 1000]);
    assert!(matches!(
        p.next_part(),
        Err(Error::PartTooLarge { declared: None, .. })
    ));

    let mut p = Parser::from_content_type(ct).unwrap().with_limits(limits);
    p.push(b"--frame\r\n");
    p.push(&[b'h'; 100]);
    assert!(matches!(
        p.next_part(),
        Err(Error::HeadersTooLarge { limit: 64, .. })
    ));

    // Exactly at the limit is fine, in both modes.
    for use_len in [true, false] {
        let mut p = Parser::from_content_type(ct)
            .unwrap()
            .with_limits(limits)
            .use_content_length(use_len);
        p.push(b"--frame\r\nContent-Length: 100\r\n\r\n");
        p.push(&[b'x'; 100]);
        p.push(b"\r\n--frame\r\n");
        assert_eq!(p.next_part().unwrap().unwrap().body.len(), 100);
    }
}

#[test]
fn truncated_sized_part_is_an_error() {
    let mut p = Parser::from_content_type("multipart/x-mixed-replace; boundary=frame").unwrap();
    p.push(b"--frame\r\nContent-Length: 10\r\n\r\n12345");
    assert_eq!(p.next_part().unwrap(), None);
    assert!(matches!(
        p.finish(),
        Err(Error::Truncated {
            expected: 10,
            got: 5,
            ..
        })
    ));
}

#[test]
fn junk_without_newlines_stays_bounded() {
    let mut p = Parser::from_content_type("multipart/x-mixed-replace; boundary=frame").unwrap();
    for _ in 0..1000 {
        p.push(&[b'z'; 1000]);
        assert_eq!(p.next_part().unwrap(), None);
    }
    p.push(b"\r\n--frame\r\n\r\nabc\r\n--frame--");
    assert_eq!(p.next_part().unwrap().unwrap().body, &b"abc"[..]);
}

mod property {
    use super::*;
    use proptest::prelude::*;

    fn stream(frames: &[Vec<u8>], close: bool) -> Vec<u8> {
        let mut s = Vec::new();
        for f in frames {
            s.extend_from_slice(&writer::part_head("image/jpeg", f.len(), None));
            s.extend_from_slice(f);
            s.extend_from_slice(writer::PART_END);
        }
        if close {
            s.extend_from_slice(format!("--{}--\r\n", writer::BOUNDARY).as_bytes());
        }
        s
    }

    fn parse(s: &[u8], cuts: &[usize], use_len: bool) -> Vec<Vec<u8>> {
        let mut p = Parser::from_content_type(&writer::content_type())
            .unwrap()
            .use_content_length(use_len);
        let mut out = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (s.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts.into_iter().chain([s.len()]) {
            p.push(&s[at..c]);
            at = c;
            while let Some(part) = p.next_part().unwrap() {
                out.push(part.body.to_vec());
            }
        }
        out.extend(p.finish().unwrap().map(|p| p.body.to_vec()));
        out
    }

    /// Bodies that do not contain the boundary (which scanning could not tell from a delimiter).
    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(b"\r\n-homestream-frame\xff\xd8\x00ab".to_vec()),
            0..200,
        )
        .prop_filter("contains boundary", |b| {
            memchr::memmem::find(b, writer::BOUNDARY.as_bytes()).is_none()
        })
    }

    proptest! {
        #[test]
        fn content_length_and_scanning_agree(
            frames in prop::collection::vec(body(), 0..6),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            close: bool,
        ) {
            let s = stream(&frames, close);
            let sized = parse(&s, &cuts, true);
            let scanned = parse(&s, &cuts, false);
            prop_assert_eq!(&sized, &frames);
            prop_assert_eq!(&scanned, &frames);
        }

        #[test]
        fn arbitrary_input_never_panics(data in prop::collection::vec(any::<u8>(), 0..2000), cuts in prop::collection::vec(any::<usize>(), 0..8)) {
            let mut p = Parser::from_content_type("multipart/x-mixed-replace; boundary=--a").unwrap()
                .with_limits(Limits { max_part: 500, max_headers: 100 });
            let mut at = 0;
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            for c in cuts.into_iter().chain([data.len()]) {
                p.push(&data[at..c]);
                at = c;
                while let Ok(Some(part)) = p.next_part() {
                    prop_assert!(part.body.len() <= 500);
                }
            }
            let _ = p.finish();
        }
    }
}
