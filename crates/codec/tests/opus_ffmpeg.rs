//! The Opus encoder checked against libopus: 2 s of 1 kHz beeps are encoded, wrapped in an Ogg
//! Opus file (RFC 7845) by a test-only writer, decoded by ffmpeg with `-c:a libopus`, and the
//! decoded audio must have the right length, the beeps where they were, at 1 kHz, and silence
//! between them.

mod common;

use homestream_codec::{AudioEncoder, OpusConfig, OpusEncoder};
use std::f64::consts::PI;

const RATE: usize = 48_000;
/// A beep of 200 ms starts every 500 ms.
const PERIOD: usize = RATE / 2;
const BEEP: usize = RATE / 5;
const AMPLITUDE: f64 = 0.5;

fn beeps(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            if i % PERIOD < BEEP {
                (AMPLITUDE * (2.0 * PI * 1000.0 * i as f64 / RATE as f64).sin()) as f32
            } else {
                0.0
            }
        })
        .collect()
}

/// Power of `x` at `freq` Hz (Goertzel), normalised so a sine of amplitude A gives A^2 / 4.
fn power_at(x: &[f32], freq: f64) -> f64 {
    let w = 2.0 * PI * freq / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    p / (x.len() as f64).powi(2)
}

fn db(x: f64) -> f64 {
    10.0 * x.log10()
}

fn rms_db(x: &[f32]) -> f64 {
    db(x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64)
}

#[test]
fn beeps_decode_with_libopus_at_the_right_time_and_pitch() {
    let samples = 2 * RATE;
    let input = beeps(samples);
    let mut enc = OpusEncoder::new(OpusConfig::default()).unwrap();
    let n = enc.frame_samples();
    // One block of silence past the end flushes the encoder's delay out of it.
    let mut padded = input.clone();
    padded.resize(samples + n, 0.0);
    let packets: Vec<Vec<u8>> = padded
        .chunks_exact(n)
        .map(|block| enc.encode(block).unwrap().to_vec())
        .collect();
    assert_eq!(packets.len(), 101);
    let bytes: usize = packets.iter().map(Vec::len).sum();
    let kbits = bytes as f64 * 8.0 / 2.0 / 1000.0;
    assert!(kbits < 80.0, "{kbits:.0} kbit/s for a 64 kbit/s target");

    let ogg = common::ogg::ogg_opus(&packets, 1, enc.pre_skip(), n as u64, samples as u64);
    let raw = common::run_with_stdin(
        "ffmpeg",
        &[
            "-v", "error", "-c:a", "libopus", "-i", "-", "-f", "f32le", "-ac", "1", "-ar", "48000",
            "-",
        ],
        &ogg,
    );
    let out: Vec<f32> = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Pre-skip dropped at the start, the last granule position trims the end: exactly 2 s.
    assert_eq!(out.len(), samples, "decoded samples");

    let expected_power = db(AMPLITUDE * AMPLITUDE / 4.0);
    for beep in 0..4 {
        let start = beep * PERIOD;
        // The middle of each beep: at 1 kHz with its level, nothing at neighbouring pitches.
        let on = &out[start + 960..start + BEEP - 960];
        let p1k = db(power_at(on, 1000.0));
        assert!(
            (p1k - expected_power).abs() < 1.0,
            "beep {beep}: {p1k:.1} dB at 1 kHz"
        );
        for f in [600.0, 1500.0, 2000.0] {
            let p = db(power_at(on, f));
            assert!(
                p1k - p > 40.0,
                "beep {beep}: {p:.1} dB at {f} Hz vs {p1k:.1} at 1 kHz"
            );
        }
        // The gap after it is silent.
        let gap = &out[start + BEEP + 960..start + PERIOD - 960];
        let r = rms_db(gap);
        assert!(r < -50.0, "gap after beep {beep}: {r:.1} dBFS");
        // The beep starts when it started in the input (pre-skip is right), within 1 ms.
        if beep > 0 {
            let onset = (start - 960..start + 960)
                .find(|&i| out[i].abs() > 0.05)
                .expect("beep onset");
            let late = onset as i64 - start as i64;
            assert!(late.abs() <= 48, "beep {beep} starts {late} samples late");
        }
    }
    eprintln!("Opus 64 kbit/s: {kbits:.0} kbit/s used, beeps at {expected_power:.1} dB");
}
