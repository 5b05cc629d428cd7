//! Parser throughput on a stream of 100 KB frames, fed in 64 KiB reads like a socket's.
//!
//! - `content_length`: homestream's writer format (every part has Content-Length).
//! - `scanning`: the seed's Flask format (`--frame`, no Content-Length), found by scanning.
//!
//! Set `MJPEG_BENCH_DUMP=DIR` to also write both streams there (`flask.bin`, `homestream.bin`),
//! so that `bench/mjpeg/seed_parser.py` can time the seed's parser on the same bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use homestream_mjpeg::{Parser, writer};
use std::hint::black_box;

const FRAMES: usize = 100;
const FRAME_LEN: usize = 100_000;
const READ: usize = 64 << 10;

/// Deterministic JPEG-like frames (xorshift32 bytes between SOI and EOI).
fn frames() -> Vec<Vec<u8>> {
    let mut x: u32 = 0x9E37_79B9;
    (0..FRAMES)
        .map(|_| {
            let mut f = Vec::with_capacity(FRAME_LEN);
            f.extend_from_slice(&[0xFF, 0xD8]);
            while f.len() < FRAME_LEN - 2 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                f.push(x as u8);
            }
            f.extend_from_slice(&[0xFF, 0xD9]);
            f
        })
        .collect()
}

fn homestream_stream(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut s = Vec::new();
    for f in frames {
        s.extend_from_slice(&writer::part_head("image/jpeg", f.len(), None));
        s.extend_from_slice(f);
        s.extend_from_slice(writer::PART_END);
    }
    s
}

/// What the seed's Flask server writes.
fn flask_stream(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut s = Vec::new();
    for f in frames {
        s.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        s.extend_from_slice(f);
        s.extend_from_slice(b"\r\n");
    }
    s
}

fn parse(content_type: &str, stream: &[u8], use_length: bool) -> usize {
    let mut p = Parser::from_content_type(content_type)
        .expect("content type")
        .use_content_length(use_length);
    let mut n = 0;
    for chunk in stream.chunks(READ) {
        p.push(chunk);
        while let Some(part) = p.next_part().expect("parse") {
            n += black_box(part.body.len());
        }
    }
    if let Some(part) = p.finish().expect("finish") {
        n += part.body.len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let frames = frames();
    let hs = homestream_stream(&frames);
    let flask = flask_stream(&frames);
    if let Ok(dir) = std::env::var("MJPEG_BENCH_DUMP") {
        let dir = std::path::Path::new(&dir);
        std::fs::write(dir.join("homestream.bin"), &hs).expect("dump");
        std::fs::write(dir.join("flask.bin"), &flask).expect("dump");
    }
    let want = FRAMES * FRAME_LEN;
    let hs_ct = writer::content_type();
    let flask_ct = "multipart/x-mixed-replace; boundary=frame";
    assert_eq!(parse(&hs_ct, &hs, true), want);
    assert_eq!(parse(flask_ct, &flask, false), want);

    let mut g = c.benchmark_group("parser_100k_frames");
    g.throughput(Throughput::Bytes(hs.len() as u64));
    g.bench_function("content_length", |b| b.iter(|| parse(&hs_ct, &hs, true)));
    g.throughput(Throughput::Bytes(flask.len() as u64));
    g.bench_function("scanning", |b| b.iter(|| parse(flask_ct, &flask, false)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
