//! The init segment (CMAF header, ISO/IEC 23000-19 §7.3.1): `ftyp` + `moov` for a list of
//! tracks, and the MSE MIME type naming every track's codec.
//!
//! Boxes from ISO/IEC 14496-12: `ftyp` §4.3, `mvhd` §8.2.2, `tkhd` §8.3.2, `mdhd` §8.4.2,
//! `hdlr` §8.4.3, `minf` §8.4.4, `vmhd` §12.1.2, `smhd` §12.2.2, `dinf`/`dref` §8.7.1-2, `stbl`
//! §8.5.1, `stsd` §8.5.2, `stts` §8.6.1.2, `stsc` §8.7.4, `stsz` §8.7.3, `stco` §8.7.5,
//! `mvex` §8.8.1, `trex` §8.8.3.
//!
//! The stream is live, so every duration is 0 and `mvex` has no `mehd` (§8.8.2): Chromium then
//! treats the source as live and plays it without its ~200 ms hold-back.

use crate::h264::AvcConfig;
use crate::opus::{OPUS_TIMESCALE, OpusConfig};
use crate::write::{write_box, write_full_box};
use crate::{CmafError, avc1};
use bytes::{BufMut, Bytes, BytesMut};

/// Video is timed in 90 kHz ticks, as RTP (RFC 6184) and MPEG-TS do, so times convert to
/// other outputs without rounding.
pub const VIDEO_TIMESCALE: u32 = 90_000;

/// The movie timescale (`mvhd`); only durations use it, and they are all 0.
const MOVIE_TIMESCALE: u32 = 1_000;

/// What a track carries, with its decoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Codec {
    /// H.264 in an `avc1` sample entry, timescale [`VIDEO_TIMESCALE`].
    H264(AvcConfig),
    /// Opus in an `Opus` sample entry, timescale [`OPUS_TIMESCALE`].
    Opus(OpusConfig),
}

impl Codec {
    /// Ticks per second of the track's decode times and sample durations.
    pub fn timescale(&self) -> u32 {
        match self {
            Codec::H264(_) => VIDEO_TIMESCALE,
            Codec::Opus(_) => OPUS_TIMESCALE,
        }
    }

    /// The RFC 6381 codec parameter (`avc1.42C01F`, `opus`).
    pub fn codec_string(&self) -> String {
        match self {
            Codec::H264(c) => c.codec_string(),
            Codec::Opus(c) => c.codec_string().to_owned(),
        }
    }
}

/// One track of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// `track_ID`: non-zero, unique in the stream; fragments name it.
    pub id: u32,
    /// What the track carries.
    pub codec: Codec,
}

/// An `ftyp` (§4.3) for a CMAF header. No `avc1`, `mp41` or `isom` brand: fragments use
/// default-base-is-moof (§8.8.7.1), which those brands predate (§A.2); `iso6` covers it and
/// `cmfc` claims CMAF. Safari wants the major brand repeated among the compatible ones.
const FTYP: &[u8] = &[
    0x00, 0x00, 0x00, 0x18, // size = 24
    b'f', b't', b'y', b'p', // type
    b'i', b's', b'o', b'6', // major_brand
    0x00, 0x00, 0x00, 0x00, // minor_version
    b'i', b's', b'o', b'6', // compatible_brands[0]
    b'c', b'm', b'f', b'c', // compatible_brands[1]
];

/// The `mvhd` (version 0) fields after `duration`.
const MVHD_TAIL: &[u8] = &[
    0x00, 0x01, 0x00, 0x00, // rate = 1.0
    0x01, 0x00, // volume = 1.0
    0x00, 0x00, // reserved
    0x00, 0x00, 0x00, 0x00, // reserved[0]
    0x00, 0x00, 0x00, 0x00, // reserved[1]
    0x00, 0x01, 0x00, 0x00, // matrix[0] (unity)
    0x00, 0x00, 0x00, 0x00, // matrix[1]
    0x00, 0x00, 0x00, 0x00, // matrix[2]
    0x00, 0x00, 0x00, 0x00, // matrix[3]
    0x00, 0x01, 0x00, 0x00, // matrix[4]
    0x00, 0x00, 0x00, 0x00, // matrix[5]
    0x00, 0x00, 0x00, 0x00, // matrix[6]
    0x00, 0x00, 0x00, 0x00, // matrix[7]
    0x40, 0x00, 0x00, 0x00, // matrix[8]
    0x00, 0x00, 0x00, 0x00, // pre_defined[0]
    0x00, 0x00, 0x00, 0x00, // pre_defined[1]
    0x00, 0x00, 0x00, 0x00, // pre_defined[2]
    0x00, 0x00, 0x00, 0x00, // pre_defined[3]
    0x00, 0x00, 0x00, 0x00, // pre_defined[4]
    0x00, 0x00, 0x00, 0x00, // pre_defined[5]
];

/// The `tkhd` (version 0) fields between `duration` and `volume`.
const TKHD_MIDDLE: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, // reserved[0]
    0x00, 0x00, 0x00, 0x00, // reserved[1]
    0x00, 0x00, // layer
    0x00, 0x00, // alternate_group
];

/// The `tkhd` unity matrix, after `volume` and `reserved`.
const TKHD_MATRIX: &[u8] = &[
    0x00, 0x01, 0x00, 0x00, // matrix[0]
    0x00, 0x00, 0x00, 0x00, // matrix[1]
    0x00, 0x00, 0x00, 0x00, // matrix[2]
    0x00, 0x00, 0x00, 0x00, // matrix[3]
    0x00, 0x01, 0x00, 0x00, // matrix[4]
    0x00, 0x00, 0x00, 0x00, // matrix[5]
    0x00, 0x00, 0x00, 0x00, // matrix[6]
    0x00, 0x00, 0x00, 0x00, // matrix[7]
    0x40, 0x00, 0x00, 0x00, // matrix[8]
];

/// An `hdlr` for video.
const VIDEO_HDLR: &[u8] = &[
    0x00, 0x00, 0x00, 0x21, // size = 33
    b'h', b'd', b'l', b'r', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // pre_defined
    b'v', b'i', b'd', b'e', // handler_type = vide
    0x00, 0x00, 0x00, 0x00, // reserved[0]
    0x00, 0x00, 0x00, 0x00, // reserved[1]
    0x00, 0x00, 0x00, 0x00, // reserved[2]
    0x00, // name = "" (null-terminated)
];

/// An `hdlr` for sound.
const SOUND_HDLR: &[u8] = &[
    0x00, 0x00, 0x00, 0x21, // size = 33
    b'h', b'd', b'l', b'r', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // pre_defined
    b's', b'o', b'u', b'n', // handler_type = soun
    0x00, 0x00, 0x00, 0x00, // reserved[0]
    0x00, 0x00, 0x00, 0x00, // reserved[1]
    0x00, 0x00, 0x00, 0x00, // reserved[2]
    0x00, // name = "" (null-terminated)
];

/// A `vmhd`; its flags must be 1 (§12.1.2.1).
const VMHD: &[u8] = &[
    0x00, 0x00, 0x00, 0x14, // size = 20
    b'v', b'm', b'h', b'd', // type
    0x00, 0x00, 0x00, 0x01, // version 0, flags 1
    0x00, 0x00, 0x00, 0x00, // graphicsmode = copy, opcolor[0]
    0x00, 0x00, 0x00, 0x00, // opcolor[1], opcolor[2]
];

/// An `smhd`.
const SMHD: &[u8] = &[
    0x00, 0x00, 0x00, 0x10, // size = 16
    b's', b'm', b'h', b'd', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // balance = 0 (centre), reserved
];

/// A `dinf` whose single `url ` entry says the media is in this file.
const DINF: &[u8] = &[
    0x00, 0x00, 0x00, 0x24, // size = 36
    b'd', b'i', b'n', b'f', // type
    0x00, 0x00, 0x00, 0x1c, // size = 28
    b'd', b'r', b'e', b'f', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x01, // entry_count = 1
    0x00, 0x00, 0x00, 0x0c, // size = 12
    b'u', b'r', b'l', b' ', // type
    0x00, 0x00, 0x00, 0x01, // version 0, flags = 1 (self-contained)
];

/// The sample tables after `stsd`, all empty: every sample is in a fragment.
const EMPTY_SAMPLE_TABLES: &[u8] = &[
    0x00, 0x00, 0x00, 0x10, // size = 16
    b's', b't', b't', b's', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // entry_count = 0
    0x00, 0x00, 0x00, 0x10, // size = 16
    b's', b't', b's', b'c', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // entry_count = 0
    0x00, 0x00, 0x00, 0x14, // size = 20
    b's', b't', b's', b'z', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // sample_size = 0 (sizes vary)
    0x00, 0x00, 0x00, 0x00, // sample_count = 0
    0x00, 0x00, 0x00, 0x10, // size = 16
    b's', b't', b'c', b'o', // type
    0x00, 0x00, 0x00, 0x00, // version 0, flags 0
    0x00, 0x00, 0x00, 0x00, // entry_count = 0
];

/// The init segment for `tracks`, in the order given. Written once per stream and sent to
/// every viewer before its first fragment.
pub fn init_segment(tracks: &[Track]) -> Result<Bytes, CmafError> {
    if tracks.is_empty() {
        return Err(CmafError::Missing("track"));
    }
    for (i, t) in tracks.iter().enumerate() {
        if t.id == 0 || tracks[..i].iter().any(|u| u.id == t.id) {
            return Err(CmafError::Unsupported {
                field: "track_ID (zero or repeated)",
                value: u64::from(t.id),
            });
        }
    }
    let sizes = tracks
        .iter()
        .map(|t| video_size(t).map(|s| (t, s)))
        .collect::<Result<Vec<_>, _>>()?;
    let next_track_id = tracks
        .iter()
        .map(|t| t.id)
        .max()
        .unwrap_or(0)
        .saturating_add(1);
    let mut buf = BytesMut::with_capacity(1024);
    buf.put_slice(FTYP);
    write_box(&mut buf, b"moov", |buf| {
        write_full_box(buf, b"mvhd", 0, 0, |buf| {
            buf.put_u32(0); // creation_time
            buf.put_u32(0); // modification_time
            buf.put_u32(MOVIE_TIMESCALE); // timescale
            buf.put_u32(0); // duration: live, unknown
            buf.put_slice(MVHD_TAIL);
            buf.put_u32(next_track_id); // next_track_ID
        });
        for &(track, size) in &sizes {
            write_trak(buf, track, size);
        }
        write_box(buf, b"mvex", |buf| {
            for t in tracks {
                write_full_box(buf, b"trex", 0, 0, |buf| {
                    buf.put_u32(t.id); // track_ID
                    buf.put_u32(1); // default_sample_description_index
                    buf.put_u32(0); // default_sample_duration (every trun says)
                    buf.put_u32(0); // default_sample_size (every trun says)
                    buf.put_u32(0); // default_sample_flags (every trun says)
                });
            }
        });
    });
    Ok(buf.freeze())
}

/// A video track's (width, height), checked to fit `tkhd` and the sample entry; (0, 0) for audio.
fn video_size(t: &Track) -> Result<(u16, u16), CmafError> {
    match &t.codec {
        Codec::H264(c) => {
            let dim = |field, v: u32| {
                u16::try_from(v).map_err(|_| CmafError::TooLarge {
                    what: field,
                    value: u64::from(v),
                })
            };
            Ok((
                dim("width", c.parsed.width)?,
                dim("height", c.parsed.height)?,
            ))
        }
        Codec::Opus(_) => Ok((0, 0)),
    }
}

fn write_trak(buf: &mut BytesMut, track: &Track, (width, height): (u16, u16)) {
    let is_audio = matches!(track.codec, Codec::Opus(_));
    write_box(buf, b"trak", |buf| {
        // flags 3: track_enabled | track_in_movie.
        write_full_box(buf, b"tkhd", 0, 3, |buf| {
            buf.put_u32(0); // creation_time
            buf.put_u32(0); // modification_time
            buf.put_u32(track.id); // track_ID
            buf.put_u32(0); // reserved
            buf.put_u32(0); // duration: live, unknown
            buf.put_slice(TKHD_MIDDLE);
            buf.put_u16(if is_audio { 0x0100 } else { 0 }); // volume: 1.0 for audio
            buf.put_u16(0); // reserved
            buf.put_slice(TKHD_MATRIX);
            buf.put_u32(u32::from(width) << 16); // width, 16.16
            buf.put_u32(u32::from(height) << 16); // height, 16.16
        });
        write_box(buf, b"mdia", |buf| {
            write_full_box(buf, b"mdhd", 0, 0, |buf| {
                buf.put_u32(0); // creation_time
                buf.put_u32(0); // modification_time
                buf.put_u32(track.codec.timescale()); // timescale
                buf.put_u32(0); // duration: live, unknown
                buf.put_u16(0x55c4); // pad, language = "und" (ISO 639-2/T, 5 bits a letter)
                buf.put_u16(0); // pre_defined
            });
            buf.put_slice(if is_audio { SOUND_HDLR } else { VIDEO_HDLR });
            write_box(buf, b"minf", |buf| {
                buf.put_slice(if is_audio { SMHD } else { VMHD });
                buf.put_slice(DINF);
                write_box(buf, b"stbl", |buf| {
                    write_full_box(buf, b"stsd", 0, 0, |buf| {
                        buf.put_u32(1); // entry_count
                        match &track.codec {
                            Codec::H264(c) => avc1::write_sample_entry(c, width, height, buf),
                            Codec::Opus(c) => c.write_sample_entry(buf),
                        }
                    });
                    buf.put_slice(EMPTY_SAMPLE_TABLES);
                });
            });
        });
    });
}

/// The MIME type for MSE's `addSourceBuffer`, naming every track's codec in track order, e.g.
/// `video/mp4; codecs="avc1.42C01F,opus"` (Chromium refuses a source buffer whose codecs
/// parameter omits a track it then finds). `audio/mp4` when there is no video track.
pub fn mime_type(tracks: &[Track]) -> String {
    let has_video = tracks.iter().any(|t| matches!(t.codec, Codec::H264(_)));
    let codecs: Vec<String> = tracks.iter().map(|t| t.codec.codec_string()).collect();
    format!(
        "{}/mp4; codecs=\"{}\"",
        if has_video { "video" } else { "audio" },
        codecs.join(",")
    )
}
