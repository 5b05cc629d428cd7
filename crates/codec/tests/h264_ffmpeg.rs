//! The H.264 encoder checked against a real decoder: Debian's ffmpeg (libavcodec) decodes what
//! we encode, and we compare what it shows with what went in.

mod common;

use homestream_codec::h264::{nal_type, nal_unit_type, split_annexb};
use homestream_codec::pixels::rgb_to_i420;
use homestream_codec::{H264Config, H264Encoder, I420, VideoEncoder};

const W: usize = 640;
const H: usize = 360;

/// Colour bars, a diagonal gradient and a white square that moves 8 px per frame.
fn pattern(frame: usize) -> I420 {
    let bars: [[u8; 3]; 7] = [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ];
    let mut rgb = vec![0u8; W * H * 3];
    let (sx, sy) = ((frame * 8) % (W - 64), (frame * 3) % (H - 64));
    for y in 0..H {
        for x in 0..W {
            let px = if (sx..sx + 64).contains(&x) && (sy..sy + 64).contains(&y) {
                [255, 255, 255]
            } else if y < H / 2 {
                bars[x * 7 / W]
            } else {
                let g = ((x + y + frame * 4) % 256) as u8;
                [g, 255 - g, 64]
            };
            rgb[(y * W + x) * 3..][..3].copy_from_slice(&px);
        }
    }
    rgb_to_i420(&rgb, W, H).unwrap()
}

fn decode_with_ffmpeg(annexb: &[u8]) -> Vec<u8> {
    common::run_with_stdin(
        "ffmpeg",
        &[
            "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-",
        ],
        annexb,
    )
}

/// `(width, height, [key_frame flag per frame])` as ffprobe sees the stream.
fn probe(annexb: &[u8]) -> (usize, usize, Vec<bool>) {
    let out = common::run_with_stdin(
        "ffprobe",
        &[
            "-v",
            "error",
            "-f",
            "h264",
            "-i",
            "-",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,profile:frame=key_frame",
            "-of",
            "compact=p=0:nk=1",
        ],
        annexb,
    );
    let text = String::from_utf8(out).unwrap();
    let mut keys = Vec::new();
    let mut size = (0, 0);
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('|').collect();
        match fields.as_slice() {
            [k] => keys.push(*k == "1"),
            // stream line: profile|width|height, in the order ffprobe prints them
            [a, b, c] => {
                let nums: Vec<usize> = [a, b, c].iter().filter_map(|s| s.parse().ok()).collect();
                assert_eq!(nums.len(), 2, "stream line {line:?}");
                size = (nums[0], nums[1]);
                assert!(
                    line.contains("Constrained Baseline"),
                    "stream line {line:?}"
                );
            }
            _ => panic!("unexpected ffprobe line {line:?}"),
        }
    }
    (size.0, size.1, keys)
}

#[test]
fn sixty_frames_decode_with_ffmpeg_to_what_went_in() {
    let config = H264Config {
        bitrate_bps: 1_500_000,
        ..H264Config::new(W as u32, H as u32, 30)
    };
    assert_eq!(config.keyframe_interval, 30);
    let mut enc = H264Encoder::new(config).unwrap();
    let mut stream = Vec::new();
    let mut inputs = Vec::new();
    let mut our_keys = Vec::new();
    for i in 0..60 {
        let frame = pattern(i);
        // Frame 45 asks for a keyframe out of turn (a new viewer arrived).
        let unit = enc.encode(&frame, i == 45).unwrap();
        assert!(!unit.annexb.is_empty(), "frame {i} is empty");
        let types: Vec<u8> = unit.nal_units().filter_map(nal_unit_type).collect();
        if unit.keyframe {
            // SPS and PPS travel in front of every IDR.
            assert_eq!(
                &types[..3],
                [nal_type::SPS, nal_type::PPS, nal_type::IDR],
                "frame {i}"
            );
            let sps = unit.nal_units().next().unwrap();
            // profile_idc 66 (baseline) with constraint_set1_flag: constrained baseline.
            assert_eq!(sps[1], 66, "profile_idc");
            assert_ne!(sps[2] & 0x40, 0, "constraint_set1_flag");
        } else {
            assert!(types.contains(&nal_type::SLICE), "frame {i}: {types:?}");
        }
        if unit.keyframe {
            our_keys.push(i);
        }
        stream.extend_from_slice(&unit.annexb);
        inputs.push(frame);
    }
    assert_eq!(
        our_keys,
        [0, 30, 45],
        "IDR at start, every 30 frames, and when forced"
    );

    let (w, h, keys) = probe(&stream);
    assert_eq!((w, h), (W, H));
    assert_eq!(keys.len(), 60, "ffprobe frames");
    let probe_keys: Vec<usize> = (0..60).filter(|&i| keys[i]).collect();
    assert_eq!(probe_keys, our_keys, "keyframes as the decoder sees them");

    let raw = decode_with_ffmpeg(&stream);
    let frame_len = W * H * 3 / 2;
    assert_eq!(
        raw.len(),
        60 * frame_len,
        "ffmpeg decoded {} frames",
        raw.len() / frame_len
    );
    let mut worst = f64::INFINITY;
    for (i, (decoded, input)) in raw.chunks_exact(frame_len).zip(&inputs).enumerate() {
        let p = common::psnr(input.as_bytes(), decoded);
        assert!(p > 32.0, "frame {i}: PSNR {p:.1} dB");
        worst = worst.min(p);
    }
    let kbits = stream.len() as f64 * 8.0 / 2.0 / 1000.0;
    eprintln!("640x360 @30: worst PSNR {worst:.1} dB, {kbits:.0} kbit/s (target 1500)");
    assert!(
        kbits < 1500.0 * 1.5,
        "{kbits} kbit/s is far over the target"
    );
}

#[test]
fn no_frame_is_ever_empty_even_far_over_budget() {
    // Noise at 50 kbit/s: OpenH264's default frame skipping would return empty units here.
    let (w, h) = (320, 240);
    let config = H264Config {
        bitrate_bps: 50_000,
        ..H264Config::new(w, h, 30)
    };
    let mut enc = H264Encoder::new(config).unwrap();
    let mut seed = 0x1234_5678u32;
    let mut stream = Vec::new();
    for i in 0..30 {
        let mut frame = I420::black(w as usize, h as usize).unwrap();
        let (y, _, _) = frame.planes_mut();
        for s in y.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *s = 16 + (seed % 220) as u8;
        }
        let unit = enc.encode(&frame, false).unwrap();
        let slices = split_annexb(&unit.annexb)
            .filter(|n| matches!(nal_unit_type(n), Some(nal_type::SLICE | nal_type::IDR)))
            .count();
        assert!(slices > 0, "frame {i} has no slice");
        stream.extend_from_slice(&unit.annexb);
    }
    let raw = decode_with_ffmpeg(&stream);
    assert_eq!(
        raw.len(),
        30 * (w * h * 3 / 2) as usize,
        "every frame decodes"
    );
}
