//! Media fragments: `prft` + `moof` + `mdat` for one track, one call each
//! (ISO/IEC 14496-12: `prft` §8.16.5, `moof` §8.8.4, `mfhd` §8.8.5, `traf` §8.8.6, `tfhd`
//! §8.8.7, `tfdt` §8.8.12, `trun` §8.8.8, sample flags §8.8.3.1, `mdat` §8.1.1).
//!
//! A fragment per video frame keeps latency at one frame; audio packets may be grouped. Each
//! fragment carries a `prft` so that a viewer can map media time to the capture wall clock
//! and show or measure glass-to-glass delay.

use crate::write::{patch_u32, write_box, write_full_box};
use crate::{CmafError, ntp_from_system_time};
use bytes::{BufMut, Bytes, BytesMut};
use std::time::SystemTime;

/// One sample (a video access unit in length-prefixed form, or one Opus packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Duration in the track's timescale (90 kHz video, 48 kHz Opus). A live frame's real
    /// duration is known only when the next one arrives; give the nominal frame interval
    /// (3000 at 30 fps): each fragment's `tfdt` carries the true decode time, so a wrong
    /// estimate only moves where the previous frame ends, never accumulates.
    pub duration: u32,
    /// The sample's bytes: for H.264 the output of [`crate::h264::to_avcc`].
    pub data: Bytes,
    /// A decoder can start here (an IDR; every Opus packet).
    pub is_sync: bool,
}

/// `sample_flags` of a sync sample: sample_depends_on = 2 (depends on no other sample).
pub const SYNC_SAMPLE_FLAGS: u32 = 0x0200_0000;
/// `sample_flags` of a non-sync sample: sample_depends_on = 1, sample_is_non_sync_sample = 1.
pub const NON_SYNC_SAMPLE_FLAGS: u32 = 0x0101_0000;

/// `tfhd` flag: offsets are relative to the start of the `moof` (§8.8.7.1).
pub const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags: data-offset, sample-duration, sample-size and sample-flags present.
pub const TRUN_FLAGS: u32 = 0x00_0001 | 0x00_0100 | 0x00_0200 | 0x00_0400;

/// Bytes of `trun` per sample (duration, size, flags).
const TRUN_SAMPLE_BYTES: u64 = 12;
/// Bytes of a fragment besides its samples' data and `trun` entries:
/// prft 32 + moof 8 + mfhd 16 + traf 8 + tfhd 16 + tfdt 20 + trun header 20 + mdat header 8.
const FRAGMENT_OVERHEAD: u64 = 32 + 8 + 16 + 8 + 16 + 20 + 20 + 8;

/// Writes the fragments of one stream, numbering them (`mfhd` sequence_number) across all of
/// its tracks, as §8.8.5 asks.
#[derive(Debug, Clone)]
pub struct Fragmenter {
    next_sequence: u32,
}

impl Default for Fragmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fragmenter {
    /// The first fragment will be number 1.
    pub fn new() -> Self {
        Fragmenter { next_sequence: 1 }
    }

    /// The `sequence_number` the next fragment will carry.
    pub fn next_sequence_number(&self) -> u32 {
        self.next_sequence
    }

    /// One fragment of `samples` for track `track_id`, the first decoded at `base_decode_time`
    /// (track timescale, counted from the stream's start) and captured at `captured`.
    ///
    /// The number is only used up when a fragment is returned: a refused call leaves no gap.
    pub fn fragment(
        &mut self,
        track_id: u32,
        base_decode_time: u64,
        samples: &[Sample],
        captured: SystemTime,
    ) -> Result<Bytes, CmafError> {
        if samples.is_empty() {
            return Err(CmafError::EmptyFragment);
        }
        let data_len: u64 = samples.iter().map(|s| s.data.len() as u64).sum();
        let total = FRAGMENT_OVERHEAD + TRUN_SAMPLE_BYTES * samples.len() as u64 + data_len;
        if total > u64::from(u32::MAX) {
            return Err(CmafError::TooLarge {
                what: "fragment",
                value: total,
            });
        }
        let sequence = self.next_sequence;
        let mut buf = BytesMut::with_capacity(total as usize);
        write_full_box(&mut buf, b"prft", 1, 0, |buf| {
            // flags 0: the time is when the frame was given to the encoder, i.e. captured.
            buf.put_u32(track_id); // reference_track_ID
            buf.put_u64(ntp_from_system_time(captured)); // ntp_timestamp
            buf.put_u64(base_decode_time); // media_time (version 1: 64 bits)
        });
        let moof_start = buf.len();
        let mut data_offset_at = 0;
        write_box(&mut buf, b"moof", |buf| {
            write_full_box(buf, b"mfhd", 0, 0, |buf| buf.put_u32(sequence));
            write_box(buf, b"traf", |buf| {
                write_full_box(buf, b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |buf| {
                    buf.put_u32(track_id); // track_ID
                });
                write_full_box(buf, b"tfdt", 1, 0, |buf| {
                    buf.put_u64(base_decode_time); // baseMediaDecodeTime
                });
                write_full_box(buf, b"trun", 0, TRUN_FLAGS, |buf| {
                    buf.put_u32(samples.len() as u32); // sample_count (bounded above)
                    data_offset_at = buf.len();
                    buf.put_u32(0); // data_offset, patched below
                    for s in samples {
                        buf.put_u32(s.duration); // sample_duration
                        buf.put_u32(s.data.len() as u32); // sample_size (bounded above)
                        buf.put_u32(if s.is_sync {
                            SYNC_SAMPLE_FLAGS
                        } else {
                            NON_SYNC_SAMPLE_FLAGS
                        });
                    }
                });
            });
        });
        // The first sample's byte is just after the mdat header, counted from the moof.
        let moof_len = buf.len() - moof_start;
        patch_u32(&mut buf, data_offset_at, moof_len + 8);
        write_box(&mut buf, b"mdat", |buf| {
            for s in samples {
                buf.put_slice(&s.data);
            }
        });
        debug_assert_eq!(buf.len() as u64, total);
        self.next_sequence = self.next_sequence.wrapping_add(1).max(1);
        Ok(buf.freeze())
    }
}
