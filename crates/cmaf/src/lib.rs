//! Sans-IO CMAF (ISO/IEC 23000-19) / fragmented MP4 (ISO/IEC 14496-12) packaging for live
//! H.264 + Opus: bytes and times in, bytes out.
//!
//! A live stream runs this packager once; every WebSocket/MSE viewer (and later LL-HLS parts)
//! is handed the same [`bytes::Bytes`] by reference (docs/architecture.md: "encode once, fan out by
//! reference"). Nothing here reads a clock or touches a socket: capture times are arguments.
//!
//! The output, in the order a viewer receives it:
//!
//! ```text
//! init segment (init.rs), once per viewer:
//! * ftyp
//! * moov
//! ** mvhd
//! ** trak (one per track)
//! *** tkhd
//! *** mdia
//! **** mdhd
//! **** hdlr
//! **** minf
//! ***** vmhd | smhd
//! ***** dinf
//! ****** dref
//! ******* url
//! ***** stbl
//! ****** stsd
//! ******* avc1 (avcC) | Opus (dOps)
//! ****** stts, stsc, stsz, stco (all empty: samples live in fragments)
//! ** mvex
//! *** trex (one per track; no mehd: the stream is live, its duration unknown)
//!
//! one fragment per call (fragment.rs), for one track:
//! * prft (capture wall-clock time of the first sample)
//! * moof
//! ** mfhd
//! ** traf
//! *** tfhd (default-base-is-moof)
//! *** tfdt (version 1)
//! *** trun
//! * mdat
//! ```
//!
//! Use, once per stream:
//!
//! ```
//! use homestream_cmaf::{h264, AvcConfig, Codec, Fragmenter, OpusConfig, Sample, Track};
//! use std::time::SystemTime;
//!
//! # fn main() -> Result<(), homestream_cmaf::CmafError> {
//! // An IDR access unit as openh264 gives it: SPS, PPS, slice, in Annex B.
//! let sps = include_bytes!("../testdata/x264-baseline-1280x720.sps");
//! let pps = include_bytes!("../testdata/x264-baseline-1280x720.pps");
//! let idr = [&[0, 0, 0, 1][..], sps, &[0, 0, 0, 1], pps, &[0, 0, 0, 1, 0x65, 0x88, 0x84]].concat();
//!
//! let tracks = [
//!     Track { id: 1, codec: Codec::H264(AvcConfig::from_access_unit(&idr)?) },
//!     Track { id: 2, codec: Codec::Opus(OpusConfig::new(1, 312)?) },
//! ];
//! let init = homestream_cmaf::init_segment(&tracks)?; // every viewer gets this first
//! assert_eq!(homestream_cmaf::mime_type(&tracks), r#"video/mp4; codecs="avc1.42C01F,opus""#);
//!
//! let mut fragmenter = Fragmenter::new();
//! let frame = Sample { duration: 3000, data: h264::to_avcc(&idr)?, is_sync: h264::contains_idr(&idr) };
//! let fragment = fragmenter.fragment(1, 0, &[frame], SystemTime::now())?; // 90 kHz decode time
//! # assert!(init.len() > 0 && fragment.len() > 0);
//! # Ok(())
//! # }
//! ```
//!
//! Why the boxes are written by hand rather than with `mp4-atom`: the output is a handful of
//! boxes, written per frame on the hot path, and the fragment's `trun` data offset must point
//! exactly at the `mdat` payload. Small functions with one `const` per fixed box can be checked
//! line by line against the spec, and the golden tests pin every byte ([`FORMAT_VERSION`]).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod avc1;
mod bits;
mod error;
pub mod fragment;
pub mod h264;
pub mod init;
mod ntp;
pub mod opus;
pub mod read;
mod write;

pub use error::CmafError;
pub use fragment::{Fragmenter, Sample};
pub use h264::{AvcConfig, Sps};
pub use init::{Codec, Track, init_segment, mime_type};
pub use ntp::{ntp_from_system_time, system_time_from_ntp};
pub use opus::OpusConfig;

/// Bumped whenever the bytes this crate writes for the same input change, so that caches and
/// golden digests keyed on it are invalidated on purpose, not by surprise.
pub const FORMAT_VERSION: u32 = 1;
