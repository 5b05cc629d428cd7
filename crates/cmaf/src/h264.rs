//! H.264 bitstream: Annex B access units split into NAL units, converted to the length-prefixed
//! form an MP4 sample holds, and the sequence parameter set read far enough for the init
//! segment (picture size, RFC 6381 codec string).
//!
//! References: ITU-T H.264 (08/2021) Annex B (byte stream format), §7.3.1 / §7.4.1 (NAL unit
//! syntax and semantics, emulation prevention), §7.3.2.1.1 / §7.4.2.1.1 (sequence parameter
//! set syntax and semantics, frame cropping), §9.1 (Exp-Golomb codes); ISO/IEC 14496-15 §5.3
//! (length-prefixed AVC samples); RFC 6381 §3.3 (`avc1.PPCCLL`).
//!
//! openh264, the live encoder, writes SPS + PPS before every IDR in Annex B, so the first
//! keyframe gives everything the init segment needs ([`AvcConfig::from_access_unit`]).

use crate::CmafError;
use crate::bits::{BitReader, unescape_rbsp};
use bytes::{BufMut, Bytes, BytesMut};

/// `nal_unit_type` of a coded slice of a non-IDR picture.
pub const NAL_SLICE: u8 = 1;
/// `nal_unit_type` of a coded slice of an IDR picture: a decoder can start here.
pub const NAL_IDR: u8 = 5;
/// `nal_unit_type` of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// `nal_unit_type` of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// `nal_unit_type` of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// `nal_unit_type` of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The `nal_unit_type` (low 5 bits of the first byte), `None` for an empty unit.
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// The NAL units of an Annex B access unit, each without its start code and without the
/// trailing zero bytes (`trailing_zero_8bits`, or the first byte of a 4-byte start code).
///
/// Bytes before the first start code are ignored, as Annex B §B.2 lets a decoder do.
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    data: &'a [u8],
    /// Start of the next unit's payload; `data.len()` when done.
    pos: usize,
}

/// Splits an Annex B access unit (3- or 4-byte start codes) into NAL units.
pub fn nal_units(au: &[u8]) -> Result<NalUnits<'_>, CmafError> {
    match find_start_code(au, 0) {
        Some((_, payload)) => Ok(NalUnits {
            data: au,
            pos: payload,
        }),
        None => Err(CmafError::NoStartCode { len: au.len() }),
    }
}

/// Finds the next `00 00 01` at or after `from`: (its offset, the offset after it).
fn find_start_code(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let tail = data.get(from..)?;
    tail.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|i| (from + i, from + i + 3))
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.data.len() {
            let start = self.pos;
            let (end, next) =
                find_start_code(self.data, start).unwrap_or((self.data.len(), self.data.len()));
            self.pos = next;
            let mut nal = &self.data[start..end];
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// Whether the access unit holds a slice of an IDR picture (a sync sample). `false` for bytes
/// that are not Annex B.
pub fn contains_idr(au: &[u8]) -> bool {
    nal_units(au).is_ok_and(|mut n| n.any(|nal| nal_type(nal) == Some(NAL_IDR)))
}

/// Converts an Annex B access unit to MP4 sample data: each NAL unit behind a 4-byte
/// big-endian length (ISO/IEC 14496-15 §5.3, `lengthSizeMinusOne` = 3 in our `avcC`).
///
/// SPS, PPS and access unit delimiters are dropped: an `avc1` track carries its parameter
/// sets in the sample entry's `avcC`, and Chromium and ffmpeg need nothing in-band. A stream
/// whose SPS changes needs a new init segment anyway.
pub fn to_avcc(au: &[u8]) -> Result<Bytes, CmafError> {
    let mut out = BytesMut::with_capacity(au.len() + 16);
    for nal in nal_units(au)? {
        if matches!(nal_type(nal), Some(NAL_SPS | NAL_PPS | NAL_AUD)) {
            continue;
        }
        let len = u32::try_from(nal.len()).map_err(|_| CmafError::TooLarge {
            what: "NAL unit",
            value: nal.len() as u64,
        })?;
        out.put_u32(len);
        out.put_slice(nal);
    }
    if out.is_empty() {
        return Err(CmafError::Missing("coded slice in the access unit"));
    }
    Ok(out.freeze())
}

/// What the init segment needs from a sequence parameter set (ITU-T H.264 §7.4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sps {
    /// `profile_idc` (66 baseline, 77 main, 100 high, ...).
    pub profile_idc: u8,
    /// `constraint_set0_flag` .. `constraint_set5_flag` and the two reserved bits, as one byte.
    pub constraint_flags: u8,
    /// `level_idc` (31 for level 3.1).
    pub level_idc: u8,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u8,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u8,
    /// Displayed width in pixels, after frame cropping.
    pub width: u32,
    /// Displayed height in pixels, after frame cropping.
    pub height: u32,
}

/// Profiles whose SPS carries `chroma_format_idc` and the fields after it (§7.3.2.1.1).
const HIGH_PROFILES: [u8; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

impl Sps {
    /// Parses an SPS NAL unit (header byte included, no start code).
    pub fn parse(nal: &[u8]) -> Result<Sps, CmafError> {
        match nal_type(nal) {
            Some(NAL_SPS) => {}
            Some(t) => {
                return Err(CmafError::Unsupported {
                    field: "nal_unit_type (SPS is 7)",
                    value: u64::from(t),
                });
            }
            None => return Err(CmafError::BadNal("empty SPS")),
        }
        let rbsp = unescape_rbsp(&nal[1..]);
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.bits(8, "profile_idc")? as u8;
        let constraint_flags = r.bits(8, "constraint_set flags")? as u8;
        let level_idc = r.bits(8, "level_idc")? as u8;
        let sps_id = r.ue("seq_parameter_set_id")?;
        check("seq_parameter_set_id", sps_id, 31)?;
        let (mut chroma_format_idc, mut separate_colour_plane) = (1, false);
        let (mut depth_luma, mut depth_chroma) = (0, 0);
        if HIGH_PROFILES.contains(&profile_idc) {
            chroma_format_idc = r.ue("chroma_format_idc")?;
            check("chroma_format_idc", chroma_format_idc, 3)?;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.bit("separate_colour_plane_flag")?;
            }
            depth_luma = r.ue("bit_depth_luma_minus8")?;
            check("bit_depth_luma_minus8", depth_luma, 6)?;
            depth_chroma = r.ue("bit_depth_chroma_minus8")?;
            check("bit_depth_chroma_minus8", depth_chroma, 6)?;
            r.bit("qpprime_y_zero_transform_bypass_flag")?;
            if r.bit("seq_scaling_matrix_present_flag")? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.bit("seq_scaling_list_present_flag")? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let log2_max_frame_num_minus4 = r.ue("log2_max_frame_num_minus4")?;
        check("log2_max_frame_num_minus4", log2_max_frame_num_minus4, 12)?;
        match r.ue("pic_order_cnt_type")? {
            0 => {
                let v = r.ue("log2_max_pic_order_cnt_lsb_minus4")?;
                check("log2_max_pic_order_cnt_lsb_minus4", v, 12)?;
            }
            1 => {
                r.bit("delta_pic_order_always_zero_flag")?;
                r.se("offset_for_non_ref_pic")?;
                r.se("offset_for_top_to_bottom_field")?;
                let n = r.ue("num_ref_frames_in_pic_order_cnt_cycle")?;
                check("num_ref_frames_in_pic_order_cnt_cycle", n, 255)?;
                for _ in 0..n {
                    r.se("offset_for_ref_frame")?;
                }
            }
            2 => {}
            other => check("pic_order_cnt_type", other, 2)?,
        }
        r.ue("max_num_ref_frames")?;
        r.bit("gaps_in_frame_num_value_allowed_flag")?;
        let width_mbs = u64::from(r.ue("pic_width_in_mbs_minus1")?) + 1;
        let height_map_units = u64::from(r.ue("pic_height_in_map_units_minus1")?) + 1;
        let frame_mbs_only = r.bit("frame_mbs_only_flag")?;
        if !frame_mbs_only {
            r.bit("mb_adaptive_frame_field_flag")?;
        }
        r.bit("direct_8x8_inference_flag")?;
        let mut crop = [0u64; 4]; // left, right, top, bottom
        if r.bit("frame_cropping_flag")? {
            for c in &mut crop {
                *c = u64::from(r.ue("frame_crop_offset")?);
            }
        }
        // §7.4.2.1.1, equations 7-18 .. 7-22 and Table 6-1.
        let field_factor = if frame_mbs_only { 1 } else { 2 };
        let chroma_array_type = if separate_colour_plane {
            0
        } else {
            chroma_format_idc
        };
        let (crop_unit_x, crop_unit_y) = match chroma_array_type {
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let coded_w = width_mbs * 16;
        let coded_h = field_factor * height_map_units * 16;
        let crop_w = crop_unit_x * (crop[0] + crop[1]);
        let crop_h = crop_unit_y * (crop[2] + crop[3]);
        if crop_w >= coded_w || crop_h >= coded_h {
            return Err(CmafError::Unsupported {
                field: "frame cropping (crops the whole picture)",
                value: crop_w.max(crop_h),
            });
        }
        let dim = |field, v: u64| {
            u32::try_from(v).map_err(|_| CmafError::Unsupported { field, value: v })
        };
        Ok(Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            chroma_format_idc: chroma_format_idc as u8,
            bit_depth_luma_minus8: depth_luma as u8,
            bit_depth_chroma_minus8: depth_chroma as u8,
            width: dim("width", coded_w - crop_w)?,
            height: dim("height", coded_h - crop_h)?,
        })
    }

    /// The RFC 6381 codec parameter, `avc1.PPCCLL` in upper-case hex (e.g. `avc1.42C01F`),
    /// which MSE's `isTypeSupported` and `addSourceBuffer` are given.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile_idc, self.constraint_flags, self.level_idc
        )
    }

    /// Whether `avcC` carries the high-profile extension fields (ISO/IEC 14496-15 §5.3.3.1).
    pub(crate) fn has_high_fields(&self) -> bool {
        HIGH_PROFILES.contains(&self.profile_idc)
    }
}

fn check(field: &'static str, v: u32, max: u32) -> Result<(), CmafError> {
    if v > max {
        return Err(CmafError::Unsupported {
            field,
            value: u64::from(v),
        });
    }
    Ok(())
}

/// `scaling_list()` (§7.3.2.1.1.1): read only to get past it.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), CmafError> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se("delta_scale")?;
            check("delta_scale", delta.unsigned_abs(), 128)?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// An H.264 track's decoder configuration: the parameter sets, kept verbatim for `avcC`, and
/// what was read from the SPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// The SPS NAL unit, header byte included.
    pub sps: Bytes,
    /// The PPS NAL unit, header byte included.
    pub pps: Bytes,
    /// What the SPS says.
    pub parsed: Sps,
}

impl AvcConfig {
    /// From one SPS and one PPS NAL unit (no start codes).
    pub fn new(sps: &[u8], pps: &[u8]) -> Result<AvcConfig, CmafError> {
        let parsed = Sps::parse(sps)?;
        if nal_type(pps) != Some(NAL_PPS) {
            return Err(CmafError::BadNal("PPS must be a NAL unit of type 8"));
        }
        for (what, nal) in [("SPS", sps), ("PPS", pps)] {
            if nal.len() > usize::from(u16::MAX) {
                return Err(CmafError::TooLarge {
                    what,
                    value: nal.len() as u64,
                });
            }
        }
        Ok(AvcConfig {
            sps: Bytes::copy_from_slice(sps),
            pps: Bytes::copy_from_slice(pps),
            parsed,
        })
    }

    /// From the first SPS and PPS of an Annex B access unit (openh264's IDR access units
    /// carry both).
    pub fn from_access_unit(au: &[u8]) -> Result<AvcConfig, CmafError> {
        let (mut sps, mut pps) = (None, None);
        for nal in nal_units(au)? {
            match nal_type(nal) {
                Some(NAL_SPS) if sps.is_none() => sps = Some(nal),
                Some(NAL_PPS) if pps.is_none() => pps = Some(nal),
                _ => {}
            }
        }
        AvcConfig::new(
            sps.ok_or(CmafError::Missing("SPS in the access unit"))?,
            pps.ok_or(CmafError::Missing("PPS in the access unit"))?,
        )
    }

    /// The RFC 6381 codec parameter, as [`Sps::codec_string`].
    pub fn codec_string(&self) -> String {
        self.parsed.codec_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let au = [
            0xff, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5, 0, 0,
        ];
        let nals: Vec<&[u8]> = nal_units(&au).unwrap().collect();
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
        assert!(contains_idr(&au));
    }

    #[test]
    fn empty_units_between_start_codes_are_skipped() {
        let au = [0, 0, 1, 0, 0, 1, 0x41, 9, 0, 0, 1];
        let nals: Vec<&[u8]> = nal_units(&au).unwrap().collect();
        assert_eq!(nals, [&[0x41, 9][..]]);
        assert!(!contains_idr(&au));
    }

    #[test]
    fn no_start_code_is_an_error() {
        assert_eq!(
            nal_units(&[0x65, 1, 2]).unwrap_err(),
            CmafError::NoStartCode { len: 3 }
        );
        assert!(!contains_idr(&[]));
    }

    #[test]
    fn avcc_drops_parameter_sets_and_prefixes_lengths() {
        let au = [
            0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 7,
        ];
        assert_eq!(&to_avcc(&au).unwrap()[..], &[0, 0, 0, 2, 0x65, 7]);
        assert_eq!(
            to_avcc(&[0, 0, 1, 0x67, 1]),
            Err(CmafError::Missing("coded slice in the access unit"))
        );
    }
}
