//! The library: folders of videos shared read-only over HTTP.
//!
//! Everything that touches the file system for a request goes through [`Library::resolve`],
//! which is the one place that decides whether a URL path may reach a file.

mod duration;
mod entity;
mod error;
mod kind;
mod library;
mod multipart;
mod open;
mod path;
mod rfc9110;
mod subtitles;

pub use entity::{CHUNK, MediaFile, MemoryEntity};
pub use error::Error;
pub use kind::{MediaKind, content_type, kind_of};
pub use library::{Entry, Library, Listing, Resolved, Root, encode_segments};
pub use multipart::{Multipart, byteranges};
pub use open::OpenFile;
pub use path::decode_url_path;
pub use rfc9110::{MAX_RANGES, normalize_request, selected_ranges};
pub use subtitles::{SubtitleTrack, sidecars_for, srt_to_vtt};
