//! Sans-IO Low-Latency HLS (RFC 8216bis, draft-pantos-hls-rfc8216bis): a live stream's CMAF
//! fragments in; parts, segments, init segments and Media Playlists out; blocking playlist
//! reload decided with the time waited as an argument. No sockets and no clock in here: the
//! HTTP shell is `homestream-live-http`'s `hls.rs`.
//!
//! One concept per file:
//! - [`playlist`]: Media Playlists as typed data, their writer and a parser for what it writes.
//! - [`config`]: part and segment lengths, target duration, and the limits derived from them.
//! - [`segmenter`]: where parts and segments are cut (at video frames and keyframes).
//! - [`store`]: the last segments and their parts, the playlist over them, lookup by name.
//! - [`blocking`]: `_HLS_msn` / `_HLS_part` (§6.2.5.2): answer, wait, 400 or 503.
//! - [`names`]: resource names, unique per muxer run so that caches may keep them forever.
//! - [`muxer`]: the one object a shell holds.
//! - [`HLS_JS`]: the browser side, for pages without native HLS (the live viewer, the funnel's
//!   player).
//!
//! ```
//! use homestream_hls::{Chunk, Config, Muxer, Track, Directive, Decision};
//! use std::time::{Duration, SystemTime};
//!
//! let mut m = Muxer::new(Config::default(), 0xabcdef01, 100).unwrap();
//! m.set_init(1, bytes::Bytes::from_static(b"ftyp+moov"));
//! for i in 0..60u32 {
//!     let pts = Duration::from_millis(1000) * i / 30;
//!     m.push(Chunk { track: Track::Video, keyframe: i % 30 == 0, pts, captured: SystemTime::now(),
//!                    generation: 1, bytes: bytes::Bytes::from_static(b"moof+mdat") });
//! }
//! let text = m.playlist().unwrap().write();
//! assert!(text.contains("#EXTINF:1.000,\nhls/abcdef01-100.m4s\n"));
//! assert_eq!(m.decide(Directive::MsnPart(101, 3), Duration::ZERO), Decision::Ready);
//! assert_eq!(m.decide(Directive::MsnPart(101, 4), Duration::ZERO), Decision::Wait);
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// hls.js 1.7.4 (Apache-2.0, `web/vendor/`: the light build, from the npm package that
/// `tests/browser/package-lock.json` pins; a test checks the two are the same bytes), compiled
/// into the binary once, so that nothing is fetched from elsewhere at run time.
pub const HLS_JS: &[u8] = include_bytes!("../../../web/vendor/hls.light.min.js");

pub mod blocking;
pub mod config;
mod error;
pub mod muxer;
pub mod names;
pub mod playlist;
pub mod segmenter;
pub mod store;

pub use blocking::{Decision, Directive};
pub use config::Config;
pub use error::HlsError;
pub use muxer::Muxer;
pub use names::{Name, Resource};
pub use playlist::MediaPlaylist;
pub use segmenter::{Chunk, Pushed, Track};
pub use store::Lookup;
