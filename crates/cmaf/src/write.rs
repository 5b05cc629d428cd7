//! Box writing: a box's size is written as a placeholder, its body appended, and the size
//! patched in afterwards (ISO/IEC 14496-12 §4.2), so nested boxes need no size arithmetic.
//!
//! Callers bound their inputs first (SPS/PPS below 64 KiB, fragments checked against
//! `u32::MAX`), so every box here fits the 32-bit size field.

use bytes::{BufMut, BytesMut};

/// Appends a box of type `fourcc` whose body `body` writes.
pub(crate) fn write_box(buf: &mut BytesMut, fourcc: &[u8; 4], body: impl FnOnce(&mut BytesMut)) {
    let start = buf.len();
    buf.put_u32(0); // size, patched below
    buf.put_slice(fourcc);
    body(buf);
    patch_u32(buf, start, buf.len() - start);
}

/// Appends a `FullBox` (§4.2): a box whose body starts with version and 24-bit flags.
pub(crate) fn write_full_box(
    buf: &mut BytesMut,
    fourcc: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut BytesMut),
) {
    write_box(buf, fourcc, |buf| {
        buf.put_u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(buf);
    });
}

/// Overwrites the big-endian u32 at `at` with `value`.
pub(crate) fn patch_u32(buf: &mut BytesMut, at: usize, value: usize) {
    debug_assert!(value <= u32::MAX as usize, "callers bound box sizes");
    let v = u32::try_from(value).unwrap_or(u32::MAX);
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes_are_patched() {
        let mut buf = BytesMut::new();
        write_box(&mut buf, b"moof", |buf| {
            write_full_box(buf, b"mfhd", 0, 0, |buf| buf.put_u32(7));
        });
        assert_eq!(
            &buf[..],
            &[
                0, 0, 0, 24, b'm', b'o', b'o', b'f', // moof, 24 bytes
                0, 0, 0, 16, b'm', b'f', b'h', b'd', // mfhd, 16 bytes
                0, 0, 0, 0, // version 0, flags 0
                0, 0, 0, 7, // sequence_number
            ]
        );
    }
}
