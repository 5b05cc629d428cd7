//! A bit reader for H.264 RBSPs: emulation-prevention bytes removed (ITU-T H.264 §7.4.1:
//! `00 00 03` -> `00 00`), fixed-width fields and Exp-Golomb codes (§9.1).

use crate::CmafError;

/// Removes emulation-prevention bytes from a NAL unit payload, giving the RBSP.
pub(crate) fn unescape_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0usize;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads bits most-significant first; every read past the end is an error, never a panic.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn bit(&mut self, field: &'static str) -> Result<bool, CmafError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(CmafError::Truncated { field })?;
        let b = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(b == 1)
    }

    /// `u(n)` for n <= 32.
    pub(crate) fn bits(&mut self, n: u32, field: &'static str) -> Result<u32, CmafError> {
        debug_assert!(n <= 32);
        let mut v = 0u32;
        for _ in 0..n.min(32) {
            v = (v << 1) | u32::from(self.bit(field)?);
        }
        Ok(v)
    }

    /// `ue(v)`: Exp-Golomb, limited to 32 leading zeros (values up to 2^32 - 2).
    pub(crate) fn ue(&mut self, field: &'static str) -> Result<u32, CmafError> {
        let mut zeros = 0u32;
        while !self.bit(field)? {
            zeros += 1;
            if zeros > 31 {
                return Err(CmafError::Unsupported {
                    field,
                    value: u64::from(zeros),
                });
            }
        }
        let rest = self.bits(zeros, field)?;
        // (1 << zeros) - 1 + rest, at most 2^32 - 2 for zeros = 31.
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }

    /// `se(v)`: signed Exp-Golomb (§9.1.1).
    pub(crate) fn se(&mut self, field: &'static str) -> Result<i32, CmafError> {
        let k = i64::from(self.ue(field)?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_from_table_9_2() {
        // 1, 010, 011, 00100, 00111 -> 0, 1, 2, 3, 6
        let data = [0b1010_0110, 0b0100_0011, 0b1000_0000];
        let mut r = BitReader::new(&data);
        let got: Vec<u32> = (0..5).map(|_| r.ue("x").unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 3, 6]);
    }

    #[test]
    fn signed_exp_golomb_alternates() {
        // codeNum 1, 2, 3, 4 -> 1, -1, 2, -2
        let data = [0b0100_1100, 0b1000_0101, 0b0000_0000];
        let mut r = BitReader::new(&data);
        let got: Vec<i32> = (0..4).map(|_| r.se("x").unwrap()).collect();
        assert_eq!(got, [1, -1, 2, -2]);
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0x00]);
        assert_eq!(r.ue("f"), Err(CmafError::Truncated { field: "f" }));
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(
            unescape_rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            [0, 0, 1, 0, 0, 0, 0]
        );
        // 00 03 alone is not an escape.
        assert_eq!(unescape_rbsp(&[0, 3, 0]), [0, 3, 0]);
    }
}
