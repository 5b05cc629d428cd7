//! Pictures as encoders want them: planar 4:2:0 ([`I420`]), converted from packed RGB with the
//! BT.601 limited-range matrix, and JPEG decoding for MJPEG cameras and JPEG folders.
//!
//! Why BT.601 limited range: an H.264 stream that does not say otherwise is decoded by browsers
//! and ffmpeg as BT.601 with Y in 16..=235 and Cb/Cr in 16..=240 (ITU-R BT.601-7 §2.5.3;
//! ITU-T H.264 Annex E, `video_full_range_flag` = 0). The H.264 encoder also writes exactly that
//! into its VUI, so the two agree even for decoders that look.
//!
//! Why even sizes: 4:2:0 keeps one Cb and one Cr sample per 2x2 block of luma samples, and
//! H.264's 4:2:0 cropping works in units of 2 (ITU-T H.264 §7.4.2.1.1, `CropUnitX`/`CropUnitY`).
//! A picture with an odd width or height is *cropped*: the last column and/or the last row are
//! dropped, so a 641x481 camera frame becomes a 640x480 picture. Nothing is scaled.
//!
//! The conversion is integer fixed point (8-bit coefficients, the ones libyuv and most encoders
//! use), two rows at a time so that each 2x2 block's chroma comes from the average of its four
//! pixels.

use crate::CodecError;
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

/// A planar YUV 4:2:0 picture, 8 bits per sample, BT.601 limited range.
///
/// The three planes are stored one after the other without padding: Y (`width` x `height`),
/// then Cb and Cr (`width / 2` x `height / 2` each). Width and height are always even and at
/// least 2.
#[derive(Clone, PartialEq, Eq)]
pub struct I420 {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for I420 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "I420({}x{})", self.width, self.height)
    }
}

/// The even size a `width` x `height` picture is cropped to, or an error if nothing is left.
fn even_size(width: usize, height: usize) -> Result<(usize, usize), CodecError> {
    let (w, h) = (width & !1, height & !1);
    if w == 0 || h == 0 {
        return Err(CodecError::TooSmall { width, height });
    }
    Ok((w, h))
}

impl I420 {
    /// A black picture (Y = 16, Cb = Cr = 128). Odd sizes are rounded down to even.
    pub fn black(width: usize, height: usize) -> Result<Self, CodecError> {
        let (width, height) = even_size(width, height)?;
        let luma = width * height;
        let mut data = vec![128u8; luma + luma / 2];
        data[..luma].fill(16);
        Ok(I420 {
            width,
            height,
            data,
        })
    }

    /// Wraps planes that are already laid out as [`I420`] describes (Y, then Cb, then Cr).
    ///
    /// Unlike the converters, this does not crop: `width` and `height` must be even, since the
    /// bytes were laid out for a particular size.
    pub fn from_bytes(width: usize, height: usize, data: Vec<u8>) -> Result<Self, CodecError> {
        if width & 1 == 1 || height & 1 == 1 || width == 0 || height == 0 {
            return Err(CodecError::TooSmall { width, height });
        }
        let expected = width * height * 3 / 2;
        if data.len() != expected {
            return Err(CodecError::BadLength {
                what: "I420 planes",
                expected,
                got: data.len(),
            });
        }
        Ok(I420 {
            width,
            height,
            data,
        })
    }

    /// Width in pixels (even).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels (even).
    pub fn height(&self) -> usize {
        self.height
    }

    /// The luma plane, `width` bytes per row.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    /// The Cb plane, `width / 2` bytes per row.
    pub fn u(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma..luma + luma / 4]
    }

    /// The Cr plane, `width / 2` bytes per row.
    pub fn v(&self) -> &[u8] {
        let luma = self.width * self.height;
        &self.data[luma + luma / 4..]
    }

    /// The three planes for writing, in the order Y, Cb, Cr.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.width * self.height;
        let (y, chroma) = self.data.split_at_mut(luma);
        let (u, v) = chroma.split_at_mut(luma / 4);
        (y, u, v)
    }

    /// All three planes as one buffer (what ffmpeg calls `-pix_fmt yuv420p` raw video).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

/// A packed 8-bit RGB picture (`R, G, B` per pixel, rows without padding).
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}

/// Converts packed RGB to a new [`I420`] picture (BT.601 limited range).
///
/// `rgb` holds `width * height * 3` bytes. An odd width or height is cropped to even (the last
/// column or row is dropped); a picture narrower or lower than 2 pixels is an error.
///
/// 1280x720 takes about 1.8 ms of CPU in a release build on a busy 2-core machine (see
/// `examples/bench.rs`).
pub fn rgb_to_i420(rgb: &[u8], width: usize, height: usize) -> Result<I420, CodecError> {
    let mut out = I420::black(width, height)?;
    rgb_to_i420_into(rgb, width, height, &mut out)?;
    Ok(out)
}

/// Like [`rgb_to_i420`], into a picture the caller keeps from frame to frame (no allocation).
///
/// `out` must already have the cropped size (`width & !1` x `height & !1`).
pub fn rgb_to_i420_into(
    rgb: &[u8],
    width: usize,
    height: usize,
    out: &mut I420,
) -> Result<(), CodecError> {
    let (w, h) = even_size(width, height)?;
    let expected = width * height * 3;
    if rgb.len() != expected {
        return Err(CodecError::BadLength {
            what: "RGB picture",
            expected,
            got: rgb.len(),
        });
    }
    if (out.width, out.height) != (w, h) {
        return Err(CodecError::BadLength {
            what: "I420 picture to convert into",
            expected: w * h * 3 / 2,
            got: out.data.len(),
        });
    }
    let stride = width * 3;
    let (y_plane, u_plane, v_plane) = out.planes_mut();
    let rows = rgb.chunks_exact(2 * stride).take(h / 2);
    let y_rows = y_plane.chunks_exact_mut(2 * w);
    let u_rows = u_plane.chunks_exact_mut(w / 2);
    let v_rows = v_plane.chunks_exact_mut(w / 2);
    for (((pair, y_pair), u_row), v_row) in rows.zip(y_rows).zip(u_rows).zip(v_rows) {
        let (top, bottom) = pair.split_at(stride);
        let (y_top, y_bottom) = y_pair.split_at_mut(w);
        convert_row_pair(
            &top[..w * 3],
            &bottom[..w * 3],
            y_top,
            y_bottom,
            u_row,
            v_row,
        );
    }
    Ok(())
}

#[inline(always)]
fn luma(r: i32, g: i32, b: i32) -> u8 {
    // BT.601: Y' = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, in 8.8 fixed point. Always
    // within 16..=235 for 8-bit input, so the cast cannot wrap.
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

/// One pair of rows: the luma of every pixel, then one Cb/Cr pair per 2x2 block. Separate
/// simple loops are what the compiler vectorises best (one loop doing both ran 2x slower).
#[inline(always)]
fn convert_row_pair(
    top: &[u8],
    bottom: &[u8],
    y_top: &mut [u8],
    y_bottom: &mut [u8],
    u_row: &mut [u8],
    v_row: &mut [u8],
) {
    for (row, y_row) in [(top, y_top), (bottom, y_bottom)] {
        for (px, y) in row.chunks_exact(3).zip(y_row.iter_mut()) {
            *y = luma(px[0] as i32, px[1] as i32, px[2] as i32);
        }
    }
    let blocks = top
        .chunks_exact(6)
        .zip(bottom.chunks_exact(6))
        .zip(u_row.iter_mut().zip(v_row.iter_mut()));
    for ((t, b), (u, v)) in blocks {
        // Chroma of the block's average colour: the sums are 4x the average, so shift by 10
        // instead of 8. Results stay within 16..=240.
        let rs = t[0] as i32 + t[3] as i32 + b[0] as i32 + b[3] as i32;
        let gs = t[1] as i32 + t[4] as i32 + b[1] as i32 + b[4] as i32;
        let bs = t[2] as i32 + t[5] as i32 + b[2] as i32 + b[5] as i32;
        *u = (((-38 * rs - 74 * gs + 112 * bs + 512) >> 10) + 128) as u8;
        *v = (((112 * rs - 94 * gs - 18 * bs + 512) >> 10) + 128) as u8;
    }
}

/// Converts an [`I420`] picture back to packed RGB (BT.601 limited range, nearest chroma).
///
/// For tests and snapshots: a live stream never needs this direction.
pub fn i420_to_rgb(picture: &I420) -> RgbImage {
    let (w, h) = (picture.width, picture.height);
    let (y_plane, u_plane, v_plane) = (picture.y(), picture.u(), picture.v());
    let mut data = vec![0u8; w * h * 3];
    for (row, out_row) in data.chunks_exact_mut(w * 3).enumerate() {
        let y_row = &y_plane[row * w..(row + 1) * w];
        let c = (row / 2) * (w / 2);
        let (u_row, v_row) = (&u_plane[c..c + w / 2], &v_plane[c..c + w / 2]);
        for (col, px) in out_row.chunks_exact_mut(3).enumerate() {
            let c = 298 * (y_row[col] as i32 - 16);
            let d = u_row[col / 2] as i32 - 128;
            let e = v_row[col / 2] as i32 - 128;
            px[0] = ((c + 409 * e + 128) >> 8).clamp(0, 255) as u8;
            px[1] = ((c - 100 * d - 208 * e + 128) >> 8).clamp(0, 255) as u8;
            px[2] = ((c + 516 * d + 128) >> 8).clamp(0, 255) as u8;
        }
    }
    RgbImage {
        width: w,
        height: h,
        data,
    }
}

/// Decodes a baseline or progressive JPEG to packed RGB (grey JPEGs come out grey in RGB).
///
/// MJPEG cameras and JPEG folders are decoded once here, converted once with [`rgb_to_i420`],
/// and encoded once per stream.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<RgbImage, CodecError> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let data = decoder
        .decode()
        .map_err(|e| CodecError::Jpeg(e.to_string()))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| CodecError::Jpeg("no dimensions after decoding".into()))?;
    if data.len() != width * height * 3 {
        return Err(CodecError::Jpeg(format!(
            "decoder returned {} bytes for {width}x{height} RGB",
            data.len()
        )));
    }
    Ok(RgbImage {
        width,
        height,
        data,
    })
}

/// Decodes a JPEG straight to an [`I420`] picture (cropped to even size).
pub fn jpeg_to_i420(jpeg: &[u8]) -> Result<I420, CodecError> {
    let rgb = decode_jpeg(jpeg)?;
    rgb_to_i420(&rgb.data, rgb.width, rgb.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, rgb: [u8; 3]) -> Vec<u8> {
        rgb.iter().copied().cycle().take(w * h * 3).collect()
    }

    #[test]
    fn reference_colours_match_bt601_limited_range() {
        // (R, G, B) -> (Y, Cb, Cr), from BT.601's equations rounded to integers.
        let cases = [
            ([0, 0, 0], (16, 128, 128)),
            ([255, 255, 255], (235, 128, 128)),
            ([255, 0, 0], (82, 90, 240)),
            ([0, 255, 0], (145, 54, 34)),
            ([0, 0, 255], (41, 240, 110)),
        ];
        for (rgb, (y, u, v)) in cases {
            let p = rgb_to_i420(&solid(4, 2, rgb), 4, 2).unwrap();
            assert!(
                p.y().iter().all(|&s| s.abs_diff(y) <= 1),
                "{rgb:?} Y {:?}",
                p.y()
            );
            assert!(
                p.u().iter().all(|&s| s.abs_diff(u) <= 1),
                "{rgb:?} Cb {:?}",
                p.u()
            );
            assert!(
                p.v().iter().all(|&s| s.abs_diff(v) <= 1),
                "{rgb:?} Cr {:?}",
                p.v()
            );
        }
    }

    #[test]
    fn odd_sizes_are_cropped_not_scaled() {
        // 5x3: the right column and the bottom row are red, the rest blue.
        let (w, h) = (5, 3);
        let mut rgb = solid(w, h, [0, 0, 255]);
        for y in 0..h {
            for x in 0..w {
                if x == w - 1 || y == h - 1 {
                    rgb[(y * w + x) * 3..][..3].copy_from_slice(&[255, 0, 0]);
                }
            }
        }
        let p = rgb_to_i420(&rgb, w, h).unwrap();
        assert_eq!((p.width(), p.height()), (4, 2));
        assert_eq!(p.as_bytes().len(), 4 * 2 * 3 / 2);
        // Nothing of the red border survives.
        assert!(p.y().iter().all(|&s| s.abs_diff(41) <= 1), "{:?}", p.y());
        assert!(p.v().iter().all(|&s| s.abs_diff(110) <= 1), "{:?}", p.v());
    }

    #[test]
    fn too_small_and_wrong_length_are_errors_not_panics() {
        assert!(matches!(
            rgb_to_i420(&[0; 3], 1, 1),
            Err(CodecError::TooSmall { .. })
        ));
        assert!(matches!(
            rgb_to_i420(&[0; 10], 2, 2),
            Err(CodecError::BadLength {
                expected: 12,
                got: 10,
                ..
            })
        ));
        assert!(I420::from_bytes(3, 2, vec![0; 9]).is_err());
        assert!(I420::from_bytes(4, 2, vec![0; 11]).is_err());
        let mut small = I420::black(2, 2).unwrap();
        assert!(rgb_to_i420_into(&[0; 48], 4, 4, &mut small).is_err());
    }

    #[test]
    fn round_trip_is_close_for_smooth_pictures() {
        let (w, h) = (64, 32);
        let mut rgb = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let px = &mut rgb[(y * w + x) * 3..][..3];
                px.copy_from_slice(&[(x * 4) as u8, (y * 8) as u8, 128]);
            }
        }
        let back = i420_to_rgb(&rgb_to_i420(&rgb, w, h).unwrap());
        let worst = rgb
            .iter()
            .zip(&back.data)
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        // Chroma is shared by 2x2 pixels of a gradient, so a few levels of error are expected.
        assert!(worst.unwrap() <= 8, "worst error {worst:?}");
    }

    #[test]
    fn jpeg_decodes_to_rgb_and_i420() {
        let (w, h) = (33u16, 17u16);
        let rgb = solid(w as usize, h as usize, [200, 30, 60]);
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let img = decode_jpeg(&jpeg).unwrap();
        assert_eq!((img.width, img.height), (33, 17));
        assert!(img.data.iter().zip(&rgb).all(|(a, b)| a.abs_diff(*b) <= 6));
        let p = jpeg_to_i420(&jpeg).unwrap();
        assert_eq!((p.width(), p.height()), (32, 16));
        assert!(matches!(
            decode_jpeg(b"not a jpeg"),
            Err(CodecError::Jpeg(_))
        ));
    }
}
