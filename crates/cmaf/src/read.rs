//! Reading boxes back (ISO/IEC 14496-12 §4.2 box header; `prft` §8.16.5, `mfhd` §8.8.5, `tfhd`
//! §8.8.7, `tfdt` §8.8.12, `trun` §8.8.8): for the golden tests, the fuzz target, and anyone who
//! needs a fragment's capture time or decode time back.
//!
//! Every read is bounds-checked and returns [`CmafError`]; no input makes it panic or allocate
//! more than the input's size.

use crate::{CmafError, system_time_from_ntp};
use std::time::SystemTime;

/// A field-by-field reader over a box body.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Reads `data` from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    /// The next `n` bytes; `field` names what is read, for the error.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], CmafError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or(CmafError::Truncated { field })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CmafError> {
        let mut a = [0; N];
        a.copy_from_slice(self.bytes(N, field)?);
        Ok(a)
    }

    /// A byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, CmafError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, CmafError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// A big-endian u24 (FullBox flags).
    pub fn u24(&mut self, field: &'static str) -> Result<u32, CmafError> {
        let [a, b, c] = self.array(field)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, CmafError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, CmafError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// A FullBox header (§4.2): (version, flags).
    pub fn full_box_header(&mut self) -> Result<(u8, u32), CmafError> {
        Ok((self.u8("version")?, self.u24("flags")?))
    }
}

/// One box: its type and body, and where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4Box<'a> {
    /// The box type.
    pub fourcc: [u8; 4],
    /// Offset of the box's first byte within the buffer its iterator started from.
    pub offset: usize,
    /// The whole box, header included.
    pub raw: &'a [u8],
    /// The body: everything after the size and type (and largesize).
    pub body: &'a [u8],
}

impl<'a> Mp4Box<'a> {
    /// The children of a container box (`moov`, `trak`, `moof`, `traf`, ...).
    pub fn children(&self) -> Boxes<'a> {
        self.children_after(0)
    }

    /// The children after `skip` bytes of body: `stsd` and `dref` (8: FullBox header and
    /// entry_count), sample entries (`avc1` 78, `Opus` 28).
    pub fn children_after(&self, skip: usize) -> Boxes<'a> {
        Boxes {
            data: self.body.get(skip..).unwrap_or(&[]),
            pos: 0,
            failed: false,
        }
    }

    /// The type as text, for messages.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.fourcc).into_owned()
    }
}

/// Iterates the boxes laid end to end in a buffer; stops after the first error.
#[derive(Debug, Clone)]
pub struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

/// The top-level boxes of `data` (an init segment, a fragment, or a whole file).
pub fn boxes(data: &[u8]) -> Boxes<'_> {
    Boxes {
        data,
        pos: 0,
        failed: false,
    }
}

impl<'a> Boxes<'a> {
    fn read_one(&mut self) -> Result<Mp4Box<'a>, CmafError> {
        let offset = self.pos;
        let rest = &self.data[offset..];
        let bad = |reason| CmafError::BadBox {
            fourcc: String::from_utf8_lossy(rest.get(4..8).unwrap_or(b"????")).into_owned(),
            offset,
            reason,
        };
        let mut c = Cursor::new(rest);
        let size = c.u32("box size").map_err(|_| bad("header truncated"))?;
        let fourcc: [u8; 4] = c.array("box type").map_err(|_| bad("header truncated"))?;
        let (len, header) = match size {
            0 => (rest.len() as u64, 8), // to the end of the enclosing buffer
            1 => (
                c.u64("largesize").map_err(|_| bad("largesize truncated"))?,
                16,
            ),
            n => (u64::from(n), 8),
        };
        if len < header {
            return Err(bad("size smaller than its header"));
        }
        if len > rest.len() as u64 {
            return Err(bad("size runs past the end of its parent"));
        }
        let len = len as usize;
        self.pos += len;
        Ok(Mp4Box {
            fourcc,
            offset,
            raw: &rest[..len],
            body: &rest[header as usize..len],
        })
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<Mp4Box<'a>, CmafError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let r = self.read_one();
        self.failed = r.is_err();
        Some(r)
    }
}

/// The first box along `path` (e.g. `[b"moof", b"traf", b"tfdt"]`), descending through
/// plain containers; `Ok(None)` when a step is absent.
pub fn find<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Result<Option<Mp4Box<'a>>, CmafError> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(None);
    };
    let mut found = None;
    for b in boxes(data) {
        let b = b?;
        if &b.fourcc == *first {
            found = Some(b);
            break;
        }
    }
    match (found, rest.is_empty()) {
        (Some(b), true) => Ok(Some(b)),
        (Some(b), false) => find(b.body, rest),
        (None, _) => Ok(None),
    }
}

/// A `ProducerReferenceTimeBox`: which media time was captured at which wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prft {
    /// The box's flags (0: the time the frame was input to the encoder).
    pub flags: u32,
    /// The track whose media time is given.
    pub reference_track_id: u32,
    /// 64-bit NTP wall-clock time.
    pub ntp_timestamp: u64,
    /// The matching time in the reference track's timescale.
    pub media_time: u64,
}

impl Prft {
    /// The NTP timestamp as wall-clock time.
    pub fn wall_clock(&self) -> SystemTime {
        system_time_from_ntp(self.ntp_timestamp)
    }
}

/// Reads a `prft` body (version 0 or 1).
pub fn read_prft(body: &[u8]) -> Result<Prft, CmafError> {
    let mut c = Cursor::new(body);
    let (version, flags) = c.full_box_header()?;
    let reference_track_id = c.u32("reference_track_ID")?;
    let ntp_timestamp = c.u64("ntp_timestamp")?;
    let media_time = match version {
        0 => u64::from(c.u32("media_time")?),
        _ => c.u64("media_time")?,
    };
    Ok(Prft {
        flags,
        reference_track_id,
        ntp_timestamp,
        media_time,
    })
}

/// Reads an `mfhd` body: the fragment's sequence_number.
pub fn read_mfhd(body: &[u8]) -> Result<u32, CmafError> {
    let mut c = Cursor::new(body);
    c.full_box_header()?;
    c.u32("sequence_number")
}

/// Reads a `tfdt` body: baseMediaDecodeTime (version 0 or 1).
pub fn read_tfdt(body: &[u8]) -> Result<u64, CmafError> {
    let mut c = Cursor::new(body);
    match c.full_box_header()?.0 {
        0 => Ok(u64::from(c.u32("baseMediaDecodeTime")?)),
        _ => c.u64("baseMediaDecodeTime"),
    }
}

/// A `TrackFragmentHeaderBox`; optional fields are `Some` when its flags say they are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tfhd {
    /// The flags (0x020000: default-base-is-moof).
    pub flags: u32,
    /// The track the fragment belongs to.
    pub track_id: u32,
    /// base_data_offset (flag 0x01).
    pub base_data_offset: Option<u64>,
    /// sample_description_index (flag 0x02).
    pub sample_description_index: Option<u32>,
    /// default_sample_duration (flag 0x08).
    pub default_sample_duration: Option<u32>,
    /// default_sample_size (flag 0x10).
    pub default_sample_size: Option<u32>,
    /// default_sample_flags (flag 0x20).
    pub default_sample_flags: Option<u32>,
}

/// Reads a `tfhd` body.
pub fn read_tfhd(body: &[u8]) -> Result<Tfhd, CmafError> {
    let mut c = Cursor::new(body);
    let (_, flags) = c.full_box_header()?;
    let track_id = c.u32("track_ID")?;
    let base_data_offset = if flags & 0x01 != 0 {
        Some(c.u64("base_data_offset")?)
    } else {
        None
    };
    let mut opt = |bit: u32, field| -> Result<Option<u32>, CmafError> {
        if flags & bit != 0 {
            c.u32(field).map(Some)
        } else {
            Ok(None)
        }
    };
    Ok(Tfhd {
        flags,
        track_id,
        base_data_offset,
        sample_description_index: opt(0x02, "sample_description_index")?,
        default_sample_duration: opt(0x08, "default_sample_duration")?,
        default_sample_size: opt(0x10, "default_sample_size")?,
        default_sample_flags: opt(0x20, "default_sample_flags")?,
    })
}

/// One `trun` entry; fields are `Some` when the box's flags say they are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrunSample {
    /// sample_duration (flag 0x100).
    pub duration: Option<u32>,
    /// sample_size (flag 0x200).
    pub size: Option<u32>,
    /// sample_flags (flag 0x400).
    pub flags: Option<u32>,
    /// sample_composition_time_offset (flag 0x800; signed in version 1).
    pub composition_time_offset: Option<i64>,
}

/// A `TrackRunBox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trun {
    /// The box's flags.
    pub flags: u32,
    /// data_offset (flag 0x01), from the base (the `moof` with default-base-is-moof).
    pub data_offset: Option<i32>,
    /// first_sample_flags (flag 0x04).
    pub first_sample_flags: Option<u32>,
    /// The samples.
    pub samples: Vec<TrunSample>,
}

/// Reads a `trun` body.
pub fn read_trun(body: &[u8]) -> Result<Trun, CmafError> {
    let mut c = Cursor::new(body);
    let (version, flags) = c.full_box_header()?;
    let count = c.u32("sample_count")?;
    let data_offset = if flags & 0x01 != 0 {
        Some(c.u32("data_offset")? as i32)
    } else {
        None
    };
    let first_sample_flags = if flags & 0x04 != 0 {
        Some(c.u32("first_sample_flags")?)
    } else {
        None
    };
    let per_sample = 4 * (flags & 0xf00).count_ones() as usize;
    // A count the body cannot hold is refused before anything is allocated for it.
    if per_sample > 0 && (count as usize) > c.remaining() / per_sample {
        return Err(CmafError::Truncated {
            field: "trun samples",
        });
    }
    if per_sample == 0 {
        // Every field comes from tfhd/trex defaults: nothing in the body bounds the count,
        // so keep at most 2^16 (empty) entries.
        let empty = TrunSample {
            duration: None,
            size: None,
            flags: None,
            composition_time_offset: None,
        };
        return Ok(Trun {
            flags,
            data_offset,
            first_sample_flags,
            samples: vec![empty; (count as usize).min(1 << 16)],
        });
    }
    let mut samples = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let mut opt = |bit: u32, field| -> Result<Option<u32>, CmafError> {
            if flags & bit != 0 {
                c.u32(field).map(Some)
            } else {
                Ok(None)
            }
        };
        let duration = opt(0x100, "sample_duration")?;
        let size = opt(0x200, "sample_size")?;
        let sflags = opt(0x400, "sample_flags")?;
        let cto = opt(0x800, "sample_composition_time_offset")?.map(|v| {
            if version == 0 {
                i64::from(v)
            } else {
                i64::from(v as i32)
            }
        });
        samples.push(TrunSample {
            duration,
            size,
            flags: sflags,
            composition_time_offset: cto,
        });
    }
    Ok(Trun {
        flags,
        data_offset,
        first_sample_flags,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trun_counts_are_bounded_by_the_body() {
        // flags 0x300 (duration + size): 8 bytes a sample, but the body holds none.
        let body = [0, 0, 0x03, 0x00, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(read_trun(&body), Err(CmafError::Truncated { .. })));
        // No per-sample fields: a huge count keeps 2^16 entries, not 2^32.
        let body = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(read_trun(&body).unwrap().samples.len(), 1 << 16);
    }

    #[test]
    fn box_sizes_are_checked() {
        // size 4 < header; size past the end; largesize; size 0 to the end.
        assert!(
            boxes(&[0, 0, 0, 4, b'f', b'r', b'e', b'e'])
                .next()
                .unwrap()
                .is_err()
        );
        assert!(
            boxes(&[0, 0, 0, 9, b'f', b'r', b'e', b'e'])
                .next()
                .unwrap()
                .is_err()
        );
        let large = [
            0, 0, 0, 1, b'm', b'd', b'a', b't', 0, 0, 0, 0, 0, 0, 0, 17, 42,
        ];
        let b = boxes(&large).next().unwrap().unwrap();
        assert_eq!((b.fourcc, b.body), (*b"mdat", &[42][..]));
        let to_end = [0, 0, 0, 0, b'm', b'd', b'a', b't', 1, 2];
        assert_eq!(boxes(&to_end).next().unwrap().unwrap().body, [1, 2]);
        // After an error the iterator stops.
        let mut it = boxes(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 8, b'f', b'r', b'e', b'e']);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }
}
