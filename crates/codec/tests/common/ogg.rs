//! A test-only Ogg Opus writer (RFC 3533 pages, RFC 7845 headers), just enough for ffmpeg to
//! read what the encoder produced: one packet per page, granule positions in 48 kHz samples.

/// CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, initial value 0 (RFC 3533 §6).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn page(out: &mut Vec<u8>, flags: u8, granule: u64, seq: u32, packet: &[u8]) {
    let start = out.len();
    out.extend_from_slice(b"OggS");
    out.push(0); // version
    out.push(flags); // 0x02 first page, 0x04 last page
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&0x486f_6d65u32.to_le_bytes()); // stream serial
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // CRC, patched below
    // Lacing: 255-byte segments, then the remainder (0 if the length is a multiple of 255).
    let mut lacing = vec![255u8; packet.len() / 255];
    lacing.push((packet.len() % 255) as u8);
    assert!(lacing.len() <= 255, "packet too large for one page");
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    out.extend_from_slice(packet);
    let crc = crc32(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// An Ogg Opus file of `packets` (each `frame_samples` long at 48 kHz) whose decoded length is
/// `samples` after `pre_skip` is dropped (RFC 7845 §4.2 and §4.5: the last granule position
/// trims the end).
pub fn ogg_opus(
    packets: &[Vec<u8>],
    channels: u8,
    pre_skip: u16,
    frame_samples: u64,
    samples: u64,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(channels);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate, informational
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family 0
    page(&mut out, 0x02, 0, 0, &head);
    let mut tags = b"OpusTags".to_vec();
    let vendor = b"homestream test";
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    page(&mut out, 0, 0, 1, &tags);
    let end = u64::from(pre_skip) + samples;
    for (i, p) in packets.iter().enumerate() {
        let last = i + 1 == packets.len();
        let granule = if last {
            end
        } else {
            (i as u64 + 1) * frame_samples
        };
        page(
            &mut out,
            if last { 0x04 } else { 0 },
            granule,
            i as u32 + 2,
            p,
        );
    }
    out
}

#[test]
fn crc_matches_the_ogg_reference_value() {
    // The Ogg CRC of "123456789" (CRC-32/MPEG-2 without the final xor and init 0: 0x89A1897F).
    assert_eq!(crc32(b"123456789"), 0x89a1_897f);
}
