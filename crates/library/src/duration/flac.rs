//! FLAC: total samples / sample rate from STREAMINFO, the first metadata block (RFC 9639 §8.2),
//! after an ID3v2 tag if a tagger put one in front.

use super::secs;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

pub fn duration<R: Read + Seek>(r: &mut R) -> Option<Duration> {
    let mut head = [0u8; 10];
    r.seek(SeekFrom::Start(0)).ok()?;
    r.read_exact(&mut head).ok()?;
    let start = if &head[..3] == b"ID3" {
        // ID3v2 size: four 7-bit bytes (ID3v2.4 §3.1), plus the 10-byte header.
        let size = head[6..10]
            .iter()
            .fold(0u64, |n, b| (n << 7) | u64::from(b & 0x7f));
        10 + size
    } else {
        0
    };
    let mut b = [0u8; 4 + 4 + 34];
    r.seek(SeekFrom::Start(start)).ok()?;
    r.read_exact(&mut b).ok()?;
    if &b[..4] != b"fLaC" || b[4] & 0x7f != 0 {
        return None;
    }
    let info = &b[8..];
    let rate =
        (u32::from(info[10]) << 12) | (u32::from(info[11]) << 4) | (u32::from(info[12]) >> 4);
    let samples = (u64::from(info[13] & 0x0f) << 32)
        | u64::from(u32::from_be_bytes(info[14..18].try_into().ok()?));
    // 0 samples means "unknown" (a stream that was being written).
    if rate == 0 || samples == 0 {
        return None;
    }
    secs(samples as f64 / f64::from(rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    pub(crate) fn flac(rate: u32, samples: u64) -> Vec<u8> {
        let mut v = b"fLaC".to_vec();
        v.extend_from_slice(&[0x80, 0, 0, 34]);
        let mut info = [0u8; 34];
        info[10] = (rate >> 12) as u8;
        info[11] = (rate >> 4) as u8;
        info[12] = ((rate & 0x0f) << 4) as u8 | 0x02; // 2 channels (1 + 1): ignored here
        info[13] = ((samples >> 32) & 0x0f) as u8;
        info[14..18].copy_from_slice(&(samples as u32).to_be_bytes());
        v.extend_from_slice(&info);
        v
    }

    #[test]
    fn reads_streaminfo_even_after_an_id3_tag() {
        let plain = flac(44_100, 44_100 * 90 + 22_050);
        assert_eq!(
            duration(&mut Cursor::new(plain.clone())),
            Some(Duration::from_secs_f64(90.5))
        );
        let mut tagged = b"ID3\x04\0\0\0\0\x01\x00".to_vec(); // 128 bytes of tag
        tagged.extend_from_slice(&[0u8; 128]);
        tagged.extend_from_slice(&plain);
        assert_eq!(
            duration(&mut Cursor::new(tagged)),
            Some(Duration::from_secs_f64(90.5))
        );
    }

    #[test]
    fn unknown_length_or_damage_gives_none() {
        assert_eq!(duration(&mut Cursor::new(flac(48_000, 0))), None);
        assert_eq!(duration(&mut Cursor::new(flac(0, 100))), None);
        assert_eq!(duration(&mut Cursor::new(b"fLaC".to_vec())), None);
        let mut not_first = flac(48_000, 48_000);
        not_first[4] = 0x84; // a first block that is not STREAMINFO
        assert_eq!(duration(&mut Cursor::new(not_first)), None);
    }
}
