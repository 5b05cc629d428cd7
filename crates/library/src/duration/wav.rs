//! WAV: the `data` chunk's size over the `fmt ` chunk's byte rate (RIFF, Microsoft's
//! "Multimedia Programming Interface and Data Specifications 1.0"; chunks are padded to even).

use super::secs;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

/// Chunks walked before giving up; real files have a handful.
const MAX_CHUNKS: usize = 32;

pub fn duration<R: Read + Seek>(r: &mut R) -> Option<Duration> {
    let file_len = r.seek(SeekFrom::End(0)).ok()?;
    let mut riff = [0u8; 12];
    r.seek(SeekFrom::Start(0)).ok()?;
    r.read_exact(&mut riff).ok()?;
    if &riff[..4] != b"RIFF" || &riff[8..] != b"WAVE" {
        return None;
    }
    let (mut pos, mut byte_rate) = (12u64, None);
    for _ in 0..MAX_CHUNKS {
        let mut h = [0u8; 20];
        r.seek(SeekFrom::Start(pos)).ok()?;
        r.read_exact(&mut h[..8]).ok()?;
        let size = u64::from(u32::from_le_bytes(h[4..8].try_into().ok()?));
        match &h[..4] {
            b"fmt " => {
                // format (2), channels (2), sample rate (4), byte rate (4)
                r.read_exact(&mut h[8..20]).ok()?;
                byte_rate = Some(u32::from_le_bytes(h[16..20].try_into().ok()?));
            }
            b"data" => {
                // A recorder that never finished writes 0 or 0xFFFFFFFF: use what is there.
                let data = if size == 0 || size == u64::from(u32::MAX) {
                    file_len.saturating_sub(pos + 8)
                } else {
                    size.min(file_len.saturating_sub(pos + 8))
                };
                let rate = byte_rate.filter(|&b| b > 0)?;
                return secs(data as f64 / f64::from(rate));
            }
            _ => {}
        }
        pos += 8 + size + (size & 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend_from_slice(body);
        if body.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    fn wav(byte_rate: u32, data: usize, list_first: bool) -> Vec<u8> {
        let mut fmt = vec![1, 0, 2, 0];
        fmt.extend_from_slice(&48_000u32.to_le_bytes());
        fmt.extend_from_slice(&byte_rate.to_le_bytes());
        fmt.extend_from_slice(&[4, 0, 16, 0]);
        let mut body = b"WAVE".to_vec();
        if list_first {
            body.extend(chunk(b"LIST", b"odd"));
        }
        body.extend(chunk(b"fmt ", &fmt));
        body.extend(chunk(b"data", &vec![0u8; data]));
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn data_size_over_byte_rate() {
        let d = duration(&mut Cursor::new(wav(192_000, 96_000, false)));
        assert_eq!(d, Some(Duration::from_millis(500)));
        // An odd-sized chunk before `fmt ` is padded: the walk must skip the pad byte.
        let d = duration(&mut Cursor::new(wav(192_000, 48_000, true)));
        assert_eq!(d, Some(Duration::from_millis(250)));
    }

    #[test]
    fn damage_gives_none() {
        assert_eq!(duration(&mut Cursor::new(wav(0, 100, false))), None);
        assert_eq!(
            duration(&mut Cursor::new(b"RIFF\0\0\0\0AVI ".to_vec())),
            None
        );
        let mut cut = wav(192_000, 100, false);
        cut.truncate(20);
        assert_eq!(duration(&mut Cursor::new(cut)), None);
    }
}
