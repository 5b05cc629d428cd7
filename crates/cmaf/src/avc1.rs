//! The `avc1` sample entry (ISO/IEC 14496-12 §12.1.3 VisualSampleEntry) and its `avcC` box
//! (ISO/IEC 14496-15 §5.3.3.1 AVCDecoderConfigurationRecord, §5.4.2 AVC sample entries).
//!
//! `avc1` rather than `avc3`: openh264's parameter sets do not change within a stream, and
//! `avc1` with SPS/PPS out of band is the form every MSE implementation and ffmpeg accept.

use crate::h264::AvcConfig;
use crate::write::write_box;
use bytes::{BufMut, BytesMut};

/// The middle of a VisualSampleEntry (§12.1.3.2) after width and height.
const VISUAL_SAMPLE_ENTRY_TAIL: &[u8] = &[
    0x00, 0x48, 0x00, 0x00, // horizresolution = 72 dpi, 16.16
    0x00, 0x48, 0x00, 0x00, // vertresolution = 72 dpi, 16.16
    0x00, 0x00, 0x00, 0x00, // reserved
    0x00, 0x01, // frame_count = 1
    // compressorname: 32 bytes, a Pascal string; empty.
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x18, // depth = 24 bits, colour, no alpha
    0xff, 0xff, // pre_defined = -1
];

/// Appends the `avc1` sample entry for `config`; `width`/`height` are the SPS's, already
/// checked to fit 16 bits by the caller.
pub(crate) fn write_sample_entry(config: &AvcConfig, width: u16, height: u16, buf: &mut BytesMut) {
    write_box(buf, b"avc1", |buf| {
        buf.put_slice(&[0; 6]); // SampleEntry reserved
        buf.put_u16(1); // data_reference_index
        buf.put_u16(0); // pre_defined
        buf.put_u16(0); // reserved
        buf.put_slice(&[0; 12]); // pre_defined[3]
        buf.put_u16(width);
        buf.put_u16(height);
        buf.put_slice(VISUAL_SAMPLE_ENTRY_TAIL);
        write_avcc(config, buf);
    });
}

fn write_avcc(config: &AvcConfig, buf: &mut BytesMut) {
    let sps = &config.parsed;
    write_box(buf, b"avcC", |buf| {
        buf.put_u8(1); // configurationVersion
        buf.put_u8(sps.profile_idc); // AVCProfileIndication
        buf.put_u8(sps.constraint_flags); // profile_compatibility
        buf.put_u8(sps.level_idc); // AVCLevelIndication
        buf.put_u8(0xfc | 3); // reserved '111111', lengthSizeMinusOne = 3 (4-byte lengths)
        buf.put_u8(0xe0 | 1); // reserved '111', numOfSequenceParameterSets = 1
        buf.put_u16(config.sps.len() as u16); // sequenceParameterSetLength (< 64 KiB)
        buf.put_slice(&config.sps);
        buf.put_u8(1); // numOfPictureParameterSets
        buf.put_u16(config.pps.len() as u16); // pictureParameterSetLength (< 64 KiB)
        buf.put_slice(&config.pps);
        if sps.has_high_fields() {
            buf.put_u8(0xfc | sps.chroma_format_idc); // reserved '111111', chroma_format
            buf.put_u8(0xf8 | sps.bit_depth_luma_minus8); // reserved '11111', bit_depth_luma_minus8
            buf.put_u8(0xf8 | sps.bit_depth_chroma_minus8); // reserved '11111', bit_depth_chroma_minus8
            buf.put_u8(0); // numOfSequenceParameterSetExt
        }
    });
}
