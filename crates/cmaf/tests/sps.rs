//! The SPS parser on parameter sets from a real encoder (x264 via ffmpeg, see
//! `testdata/README.txt`), checked against what ffprobe says about the same streams.

use homestream_cmaf::h264::{self, Sps};
use homestream_cmaf::{AvcConfig, CmafError};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn x264_constrained_baseline_1280x720() {
    let sps = Sps::parse(&fixture("x264-baseline-1280x720.sps")).unwrap();
    assert_eq!(
        sps,
        Sps {
            profile_idc: 66,
            constraint_flags: 0xc0, // constraint_set0 + constraint_set1: Constrained Baseline
            level_idc: 31,
            chroma_format_idc: 1,
            bit_depth_luma_minus8: 0,
            bit_depth_chroma_minus8: 0,
            width: 1280,
            height: 720,
        }
    );
    assert_eq!(sps.codec_string(), "avc1.42C01F");
}

#[test]
fn x264_high_1920x1080_is_cropped_from_1088() {
    let sps = Sps::parse(&fixture("x264-high-1920x1080.sps")).unwrap();
    assert_eq!((sps.profile_idc, sps.level_idc), (100, 40));
    assert_eq!((sps.width, sps.height), (1920, 1080));
    assert_eq!(sps.codec_string(), "avc1.640028");
}

#[test]
fn x264_high444_crops_in_single_samples() {
    let sps = Sps::parse(&fixture("x264-high444-322x242.sps")).unwrap();
    assert_eq!((sps.profile_idc, sps.chroma_format_idc), (244, 3));
    assert_eq!((sps.width, sps.height), (322, 242));
    assert_eq!(sps.codec_string(), "avc1.F4000D");
}

#[test]
fn config_from_an_idr_access_unit_of_the_interop_stream() {
    let stream = fixture("testsrc-320x240-30fps-baseline-2s.h264");
    let config = AvcConfig::from_access_unit(&stream).unwrap();
    assert_eq!((config.parsed.width, config.parsed.height), (320, 240));
    assert_eq!(config.codec_string(), "avc1.42C00D");
    assert_eq!(h264::nal_type(&config.sps), Some(h264::NAL_SPS));
    assert_eq!(h264::nal_type(&config.pps), Some(h264::NAL_PPS));
}

#[test]
fn every_truncation_of_a_real_sps_fails_or_gives_the_same_answer() {
    let bytes = fixture("x264-high-1920x1080.sps");
    let full = Sps::parse(&bytes).unwrap();
    // The parser stops after frame cropping (byte 11 here) and never reads the VUI: a cut
    // before that point must fail, a cut after it changes nothing.
    for len in 0..bytes.len() {
        match Sps::parse(&bytes[..len]) {
            Ok(sps) => assert!(len >= 11 && sps == full, "{len} bytes gave {sps:?}"),
            Err(CmafError::Truncated { .. }) | Err(CmafError::BadNal(_)) => assert!(len < 11),
            Err(e) => panic!("{len} bytes: unexpected {e}"),
        }
    }
}

#[test]
fn a_pps_is_not_an_sps() {
    assert!(matches!(
        Sps::parse(&fixture("x264-high-1920x1080.pps")),
        Err(CmafError::Unsupported { value: 8, .. })
    ));
}
